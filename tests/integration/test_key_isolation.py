"""The private key never reaches netproc. After real handshakes, netproc's
memory holds neither the key file's bytes nor the private scalar, while a
helper does hold the scalar (so the scan itself can find it)."""
import os

import tls_client
from harness import *
from memscan import contains, pem_body_slices, private_scalar

if os.geteuid() != 0:
    # Reading another process's memory needs CAP_SYS_PTRACE once the
    # children are non-dumpable; CI runs as root.
    log("skip: needs root to read /proc/PID/mem")
    sys.exit(0)

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key, helpers=1))
for version in ("1.3", "1.2"):
    for _ in range(5):
        check(tls_client.echo_round_trip(tw.port, ctx=tls_client.context(cafile=cert, version=version))
              == b"hello through tlsward\n", "echo failed")

scalar = private_scalar(key)
needles = [scalar, scalar[::-1]] + pem_body_slices(key)
netproc = tw.child_pid("tlsward: netproc")
helper = tw.child_pid("tlsward: crypto[0]")
in_netproc = contains(netproc, needles)
in_helper = contains(helper, needles)
check(in_helper[scalar] or in_helper[scalar[::-1]],
      "the scan cannot find the private scalar even in the helper: the test would prove nothing")
for n, hit in in_netproc.items():
    check(not hit, "netproc (pid %d) holds key material: %r..." % (netproc, n[:8]))
log("ok: private scalar found in crypto[0], absent from netproc; key file bytes absent from netproc")
check(tw.stop() == 0, "tlsward exit status")
backend.stop()
tmp.cleanup()
