"""100 MiB each way through tlsward, checked with SHA-256, on TLS 1.3 and
TLS 1.2 (ChaCha20), uploads and downloads at the same time."""
import threading

import tls_client
from harness import *

SIZE = 100 * 1024 * 1024
tmp = TempDir()
cert, key = make_cert(tmp.path)
sink = Backend("sink")
source = Backend("source")
tw_up = Tlsward(server_args(sink, cert, key))
tw_down = Tlsward(server_args(source, cert, key))
errors = []


def upload(ctx, label):
    s = tls_client.connect(tw_up.port, ctx, timeout=20 * SLOW)  # a stall longer than this is a bug
    s.sendall(b"%d\n" % SIZE)
    block = pattern_block()
    sent = 0
    while sent < SIZE:
        chunk = block[: min(len(block), SIZE - sent)]
        s.sendall(chunk)
        sent += len(chunk)
    answer = b""
    while not answer.endswith(b"\n"):
        d = s.recv(1024)
        if not d:
            break
        answer += d
    s.close()
    want = "%s %d" % (pattern_digest(SIZE), SIZE)
    if answer.decode().strip() != want:
        errors.append("%s upload: backend saw %r, want %r" % (label, answer, want))


def download(ctx, label):
    s = tls_client.connect(tw_down.port, ctx, timeout=20 * SLOW)  # a stall longer than this is a bug
    s.sendall(b"%d\n" % SIZE)
    n, digest = read_digest(s)
    s.close()
    if n != SIZE or digest != pattern_digest(SIZE):
        errors.append("%s download: %d bytes, digest %s" % (label, n, digest))


# TLS 1.2 AES-GCM too: its records carry an explicit nonce, so the records
# netproc seals in place, several per read from the target, start further in.
for version, ciphers in (("1.3", None), ("1.2", "ECDHE-ECDSA-CHACHA20-POLY1305"),
                         ("1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")):
    ctx = tls_client.context(cafile=cert, version=version, ciphers=ciphers)
    label = "TLS %s %s" % (version, ciphers or "default")
    t0 = time.time()
    threads = [threading.Thread(target=upload, args=(ctx, label)),
               threading.Thread(target=download, args=(ctx, label))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "; ".join(errors))
    log("ok: %s: 100 MiB up and 100 MiB down intact in %.1fs" % (label, time.time() - t0))

for tw in (tw_up, tw_down):
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
sink.stop()
source.stop()
tmp.cleanup()
