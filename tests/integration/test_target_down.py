"""A target that refuses connections: each client completes its handshake,
gets close_notify (not a reset, not a hang), the close line names the
target and the error, and the daemon goes on serving once the target is
back."""
import socket
import threading

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
# A port nothing listens on: bound, never listened to, so connect is refused.
holder = socket.socket()
holder.bind(("127.0.0.1", 0))
port = holder.getsockname()[1]


class Down:
    address = "127.0.0.1:%d" % port


tw = Tlsward(server_args(Down, cert, key))
for i in range(3):
    s = tls_client.connect(tw.port, tls_client.context(cafile=cert), timeout=10 * SLOW)
    s.sendall(b"hello\n")
    check(s.recv(100) == b"", "connection %d: data or no close_notify with the target down" % i)
    s.close()
# The close line is logged after close_notify went out, so the client can
# see the last one before the log has it: wait for all three.
lines = tw.wait_for(r"reason=\"connect to target 127\.0\.0\.1:%d failed: Connection refused\""
                    % port, count=3)
log("ok: target down: close_notify to the client; %s" % lines[0].split("reason=")[1])
check(tw.count(r"reason=\"connect to target") == 3, "not one close line per connection")

# The target comes back on the same port: the same daemon serves it.
holder.listen()


def echo_once():
    c, _ = holder.accept()
    c.sendall(c.recv(100))
    c.close()


t = threading.Thread(target=echo_once)
t.start()
s = tls_client.connect(tw.port, tls_client.context(cafile=cert), timeout=10 * SLOW)
s.sendall(b"back\n")
check(s.recv(100) == b"back\n", "no echo once the target was back")
s.close()
t.join()
holder.close()
log("ok: the target back, the same daemon serves it")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
tmp.cleanup()
