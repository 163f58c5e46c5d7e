"""kill -9 of a helper: a new one is running and ready within 2 s, and the
service still answers."""
import os
import signal
import time

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key, helpers=2))
check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n", "no echo before kill")

for round_no in range(3):
    old = tw.child_pid("tlsward: crypto[1]")
    check(old is not None, "no crypto[1] running")
    mark = tw.mark()
    killed_at = time.time()
    os.kill(old, signal.SIGKILL)
    tw.wait_for(r"event=child_ready process=crypto\[1\]", timeout=2 * SLOW, start=mark)
    took = time.time() - killed_at
    new = tw.child_pid("tlsward: crypto[1]")
    check(new is not None and new != old, "crypto[1] was not replaced (old %s new %s)" % (old, new))
    log("ok: crypto[1] %d replaced by %d in %.2fs" % (old, new, took))
    # Every handshake now succeeds, whichever helper gets it.
    for _ in range(6):
        check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n",
              "echo failed after helper restart")

check(tw.stop() == 0, "tlsward did not exit 0")
check("event=child_died process=crypto[1]" in tw.log_text(), "the death was not logged")
backend.stop()
tmp.cleanup()
