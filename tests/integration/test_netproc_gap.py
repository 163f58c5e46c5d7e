"""kill -9 of netproc with connections open: the supervisor logs how many
connections were lost (netproc's last report) and how long the gap was,
and the restarted netproc serves the same port."""
import os
import signal
import time

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key, helpers=1))
held = []
for _ in range(3):
    s = tls_client.connect(tw.port)
    s.sendall(b"x")
    check(s.recv(1) == b"x", "no echo")
    held.append(s)
time.sleep(1.5 * SLOW)  # at least one status report from netproc

mark = tw.mark()
os.kill(tw.child_pid("tlsward: netproc"), signal.SIGKILL)
died = tw.wait_for(r"event=child_died process=netproc", start=mark)[0]
check("connections_lost=3" in died, "lost connections not counted: %s" % died)
restored = tw.wait_for(r"event=netproc_restored", timeout=5 * SLOW, start=mark)[0]
check("connections_lost=3" in restored, "gap line lacks the count: %s" % restored)
check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n", "no service after")
log("ok: %s" % restored.split(": ", 1)[-1])
for s in held:
    s.close()
check(tw.stop() == 0, "tlsward did not exit 0")
backend.stop()
tmp.cleanup()
