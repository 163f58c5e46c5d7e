"""A per-connection rate limit (--rate-limit) holds each direction within
10% of the limit over 5 s, measured by the client, and a second connection
is limited on its own."""
import hashlib
import threading

import tls_client
from harness import *

RATE = 1024 * 1024  # bytes per second
SECONDS = 5
tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
sink = Backend("sink")
tw_down = Tlsward(server_args(source, cert, key, "--rate-limit", str(RATE)))
tw_up = Tlsward(server_args(sink, cert, key, "--rate-limit", str(RATE)))
results = {}


def download(name):
    s = tls_client.connect(tw_down.port, tls_client.context(cafile=cert), timeout=30)
    s.sendall(b"%d\n" % (RATE * SECONDS * 4))
    n = 0
    # The burst (100 ms of traffic) comes at once; measure after it.
    while n < RATE // 5:
        n += len(s.recv(1 << 20))
    start, start_n = time.time(), n
    while time.time() - start < SECONDS:
        n += len(s.recv(1 << 20))
    results[name] = (n - start_n) / (time.time() - start)
    s.close()


def upload(name):
    s = tls_client.connect(tw_up.port, tls_client.context(cafile=cert), timeout=30)
    total = RATE * 3
    s.sendall(b"%d\n" % total)
    block = pattern_block()[: 64 * 1024]
    sent = 0
    start = time.time()
    while sent < total:
        s.sendall(block[: min(len(block), total - sent)])
        sent += min(len(block), total - sent)
    answer = s.recv(200)
    elapsed = time.time() - start
    s.close()
    results[name] = total / elapsed
    results[name + " answer"] = answer


threads = [threading.Thread(target=download, args=("down-1",)),
           threading.Thread(target=download, args=("down-2",)),
           threading.Thread(target=upload, args=("up",))]
for t in threads:
    t.start()
for t in threads:
    t.join()

for name in ("down-1", "down-2", "up"):
    rate = results[name]
    log("%s: %.0f bytes/s (limit %d, %.1f%%)" % (name, rate, RATE, 100.0 * rate / RATE))
    # Downloads count TLS record overhead against the limit (it is applied
    # at the wire), so plaintext runs slightly under it.
    check(0.9 * RATE <= rate <= 1.1 * RATE, "%s: %.0f bytes/s is not within 10%% of %d"
          % (name, rate, RATE))
check(results["up answer"].decode().split()[1] == str(RATE * 3), "upload incomplete")
for tw in (tw_down, tw_up):
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
source.stop()
sink.stop()
tmp.cleanup()
