"""kill -9 of netproc: a new netproc accepts on the very same listening
socket (the supervisor keeps it), and connections made during the gap wait
in the backlog instead of being refused."""
import os
import signal
import socket
import time

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key, helpers=2))
port = tw.port
check(tls_client.echo_round_trip(port) == b"hello through tlsward\n", "no echo before kill")

old = tw.child_pid("tlsward: netproc")
mark = tw.mark()
os.kill(old, signal.SIGKILL)
# During the gap the socket is still listening: a TCP connect succeeds.
gap = socket.create_connection(("127.0.0.1", port), timeout=5)
gap.close()
tw.wait_for(r"event=child_ready process=netproc", timeout=3 * SLOW, start=mark)
new = tw.child_pid("tlsward: netproc")
check(new is not None and new != old, "netproc not replaced")
check(tw.count(r"event=listening", start=mark) == 0, "listener was re-bound, not reused")
for _ in range(4):
    check(tls_client.echo_round_trip(port) == b"hello through tlsward\n",
          "echo failed on the same port after netproc restart")
log("ok: netproc %d -> %d, same port %d served" % (old, new, port))
check(tw.stop() == 0, "tlsward did not exit 0")
backend.stop()
tmp.cleanup()
