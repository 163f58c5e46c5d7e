"""Connection limits refuse and count: per service (--max-connections), per
source address (--max-connections-per-source, 127.0.0.2 still admitted),
global (max_connections in [global]); and the handshake deadline
(--handshake-timeout) closes a client that never finishes its handshake."""
import socket
import ssl

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
echo = Backend("echo")


def open_tls(port, source="127.0.0.1"):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s = tls_client.context(cafile=cert).wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"x")
    check(s.recv(1) == b"x", "admitted connection does not echo")
    return s


def refused(port, source="127.0.0.1"):
    try:
        open_tls(port, source).close()
        return False
    except (ssl.SSLError, ConnectionError, OSError):
        return True


tw = Tlsward(server_args(echo, cert, key, "--max-connections", "3"))
held = [open_tls(tw.port) for _ in range(3)]
check(refused(tw.port), "a 4th connection was admitted past --max-connections 3")
tw.wait_for(r"event=refused reason=service_max_connections")
held.pop().close()
time.sleep(0.2)
held.append(open_tls(tw.port))  # room again
log("ok: --max-connections 3 refuses the 4th, admits again after one closes")
for s in held:
    s.close()
check(tw.stop() == 0, "tlsward exit status")

tw = Tlsward(server_args(echo, cert, key, "--max-connections-per-source", "2"))
held = [open_tls(tw.port), open_tls(tw.port)]
check(refused(tw.port), "a 3rd connection from 127.0.0.1 was admitted")
held.append(open_tls(tw.port, source="127.0.0.2"))
tw.wait_for(r"event=refused reason=max_connections_per_source .*source=127\.0\.0\.1")
log("ok: --max-connections-per-source 2 refuses a 3rd from 127.0.0.1, admits 127.0.0.2")
for s in held:
    s.close()
check(tw.stop() == 0, "tlsward exit status")

conf = tmp.file("limits.toml")
with open(conf, "w") as f:
    f.write("""[global]
max_connections = 2

[[service]]
name = "a"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"

[[service]]
name = "b"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"
""" % (echo.address, cert, key, echo.address, cert, key))
tw = Tlsward(["run", "--config", conf])
a, b = tw.ports
held = [open_tls(a), open_tls(b)]
check(refused(a) and refused(b), "global max_connections 2 admitted a 3rd")
tw.wait_for(r"event=refused reason=max_connections ")
log("ok: global max_connections 2 across two services")
for s in held:
    s.close()
check(tw.stop() == 0, "tlsward exit status")

tw = Tlsward(server_args(echo, cert, key, "--handshake-timeout", "1"))
raw = socket.create_connection(("127.0.0.1", tw.port), timeout=10)
t0 = time.time()
check(raw.recv(100) == b"", "a silent client was not disconnected")
took = time.time() - t0
log("ok: a client that sends nothing is closed after %.2fs (--handshake-timeout 1)" % took)
check(0.8 <= took <= 2.5 * SLOW, "closed after %.2fs" % took)
# netproc closes it itself: a helper never saw it (netproc/client_hello.hpp).
tw.wait_for(r"reason=\"handshake timeout: the ClientHello did not arrive")
raw.close()
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
echo.stop()
tmp.cleanup()
