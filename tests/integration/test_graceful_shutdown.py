"""SIGTERM with transfers in flight: new connections are refused at once,
the transfers complete intact within the drain time, and tlsward exits 0.
With a short drain time, what is still running then gets close_notify
(a clean TLS end, not a reset) and tlsward still exits 0."""
import signal
import socket
import ssl
import time

import tls_client
from harness import *
from load import Transfers, free_port_refused

tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")

# 1. Transfers that finish within the drain time.
tw = Tlsward(server_args(source, cert, key, "--drain-time", "30", helpers=2))
transfers = Transfers(tw.port, n=20, size=4 << 20, rate=1 << 20).start()
check(not transfers.errors, "transfers did not start: %s" % transfers.errors[:3])
time.sleep(0.5)
t0 = time.time()
tw.proc.send_signal(signal.SIGTERM)
tw.wait_for(r"event=draining connections=20", timeout=5 * SLOW)
check(free_port_refused(tw.port), "new connections are still accepted while draining")
errors = transfers.wait(timeout=60)
check(not errors, "transfers broken by the shutdown: %s" % errors[:5])
rc = tw.proc.wait(timeout=30 * SLOW)
took = time.time() - t0
check(rc == 0, "tlsward exited %d" % rc)
check(took < 30, "draining took %.1fs, more than the drain time" % took)
check(tw.count(r"event=drain_timeout") == 0, "the drain timed out")
log("ok: 20 transfers of 4 MiB completed after SIGTERM; exit 0 after %.1fs" % took)
tw.check_clean_log()

# 2. A transfer that outlasts the drain time ends with close_notify.
tw = Tlsward(server_args(source, cert, key, "--drain-time", "2", helpers=1))
s = tls_client.connect(tw.port, timeout=20 * SLOW)
s.sendall(b"%d\n" % (1 << 30))
got = 0
while got < (1 << 20):
    got += len(s.recv(65536))
t0 = time.time()
tw.proc.send_signal(signal.SIGTERM)
how = "eof"
try:
    while True:
        d = s.recv(65536)
        if not d:
            how = "close_notify"
            break
        got += len(d)
        time.sleep(0.002)  # a reader slower than the source
except ssl.SSLEOFError as e:
    how = "EOF without close_notify: %s" % e
except OSError as e:
    how = "error: %s" % e
ended = time.time() - t0
check(how == "close_notify", "the connection ended with %s" % how)
check(1.5 < ended < 2 + 3 * SLOW, "ended %.1fs after SIGTERM (drain time 2s)" % ended)
rc = tw.proc.wait(timeout=10 * SLOW)
check(rc == 0, "tlsward exited %d" % rc)
log("ok: a transfer longer than the drain time got close_notify after %.1fs; exit 0" % ended)
s.close()
source.stop()
tmp.cleanup()
