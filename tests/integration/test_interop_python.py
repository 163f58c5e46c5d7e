"""Python's ssl module through tlsward: TLS 1.3 and 1.2, certificate
verified, many sequential and concurrent connections echoing intact."""
import threading

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key))
for version in ("1.3", "1.2"):
    ctx = tls_client.context(cafile=cert, version=version)
    s = tls_client.connect(tw.port, ctx)
    check(s.version() == "TLSv" + version, "negotiated %s" % s.version())
    for size in (1, 100, 16384, 16385, 100000):
        payload = bytes((i * 7) & 0xff for i in range(size))
        s.sendall(payload)
        got = b""
        while len(got) < size:
            got += s.recv(65536)
        check(got == payload, "TLS %s: echo of %d bytes differs" % (version, size))
    s.close()
    log("ok: TLS %s echo of 1..100000 bytes" % version)

errors = []


def worker(n):
    try:
        for i in range(10):
            msg = ("worker %d message %d\n" % (n, i)).encode() * 50
            if tls_client.echo_round_trip(tw.port, msg) != msg:
                errors.append("worker %d: echo differs" % n)
    except Exception as e:  # noqa: BLE001 - any failure fails the test
        errors.append("worker %d: %r" % (n, e))


threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(not errors, "; ".join(errors[:5]))
log("ok: 20 concurrent clients x 10 connections")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
