"""Clients that stop reading while the target floods them leave netproc's
memory flat: each connection's buffers are bounded (three pooled blocks),
so RSS measured from /proc stops growing however long the flood goes on,
and the other connections keep flowing."""
import socket

import tls_client
from harness import *

STALLED = 20
tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
tw = Tlsward(server_args(source, cert, key))
netproc = tw.child_pid("tlsward: netproc")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


stalled = []
for i in range(STALLED):
    s = tls_client.connect(tw.port, tls_client.context(cafile=cert), timeout=30)
    # A small receive buffer, so the flood backs up into tlsward quickly.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"%d\n" % (1 << 40))  # "send me a terabyte", then never read
    stalled.append(s)

time.sleep(2.0 * SLOW)  # every pipe is full now: kernel buffers, then tlsward's
samples = []
for i in range(6):
    samples.append(rss_kib(netproc))
    # Meanwhile another connection still gets its data.
    c = tls_client.connect(tw.port, tls_client.context(cafile=cert), timeout=30)
    c.sendall(b"%d\n" % (256 * 1024))
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.close()
    check(n == 256 * 1024, "a flowing connection got %d bytes while others stalled" % n)
    time.sleep(0.5 * SLOW)
log("netproc RSS (KiB) while %d clients stall under a flood: %s" % (STALLED, samples))
growth = samples[-1] - samples[0]
# Flat: no more than a handful of pages apart from allocator noise.
check(growth < 1024, "netproc grew by %d KiB while the flood went on" % growth)
for s in stalled:
    s.close()
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
source.stop()
tmp.cleanup()
