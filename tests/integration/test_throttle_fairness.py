"""200 connections sharing one global write limit each get a fair share:
Jain's fairness index over their byte counts in a 5 s window is at least
0.9, and together they stay within 10% of the limit."""
import threading

import tls_client
from harness import *

CONNS = 200
RATE = 8 * 1024 * 1024
WINDOW = 5.0
tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
conf = tmp.file("fair.toml")
with open(conf, "w") as f:
    f.write("""[global]
helpers = 2
write_rate = %d

[[service]]
name = "fair"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"
""" % (RATE, source.address, cert, key))
tw = Tlsward(["run", "--config", conf])
ctx = tls_client.context(cafile=cert)
socks = []
for i in range(CONNS):
    s = tls_client.connect(tw.port, ctx, timeout=60)
    s.sendall(b"%d\n" % (1 << 30))
    socks.append(s)
log("%d connections downloading" % CONNS)

counts = [0] * CONNS
phase = {"measuring": False}
marks = [0] * CONNS
ends = [0] * CONNS
stop = threading.Event()


def reader(i):
    s = socks[i]
    while not stop.is_set():
        try:
            d = s.recv(65536)
        except OSError:
            return
        if not d:
            return
        counts[i] += len(d)


threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(CONNS)]
for t in threads:
    t.start()
time.sleep(2.0)  # let bursts drain and shares settle
marks = list(counts)
t0 = time.time()
time.sleep(WINDOW)
ends = list(counts)
elapsed = time.time() - t0
stop.set()
got = [e - m for m, e in zip(marks, ends)]
total = sum(got)
jain = total * total / (CONNS * sum(x * x for x in got)) if total else 0
log("total %.0f bytes/s (limit %d), per connection min %d max %d, Jain's index %.3f"
    % (total / elapsed, RATE, min(got), max(got), jain))
check(jain >= 0.9, "Jain's fairness index %.3f < 0.9" % jain)
check(0.85 * RATE <= total / elapsed <= 1.1 * RATE,
      "aggregate %.0f bytes/s is not near the limit %d" % (total / elapsed, RATE))
for s in socks:
    s.close()
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
source.stop()
tmp.cleanup()
