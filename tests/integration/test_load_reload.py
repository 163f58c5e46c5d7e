"""Under load, ten reloads with `tlsward reload`, one of them with a renewed
certificate: zero failed handshakes, zero broken transfers, and every
connection made after that reload sees the new certificate."""
import hashlib
import os
import shutil
import ssl
import time

import tls_client
from harness import *
from load import HandshakeLoop, Transfers, fingerprint

tmp = TempDir()
old_cert, old_key = make_cert(tmp.path, "old")
new_cert, new_key = make_cert(tmp.path, "new", cn="renewed")
live_cert, live_key = tmp.file("live.crt"), tmp.file("live.key")
shutil.copy(old_cert, live_cert)
shutil.copy(old_key, live_key)


def der_fingerprint(pem_path):
    der = ssl.PEM_cert_to_DER_cert(open(pem_path).read())
    return hashlib.sha256(der).hexdigest()


old_fp, new_fp = der_fingerprint(old_cert), der_fingerprint(new_cert)
control = tmp.file("control")
source = Backend("source")
tw = Tlsward(server_args(source, live_cert, live_key, "--control", control, helpers=2))

transfers = Transfers(tw.port, n=50, size=12 * SLOW << 20, rate=1 << 20).start()
check(not transfers.errors, "transfers did not start: %s" % transfers.errors[:3])
loop = HandshakeLoop(tw.port, threads=2).start()
time.sleep(0.5)

renewed_at = None
times = []
for i in range(10):
    if i == 5:
        # What an ACME client does: new files in place, then a reload.
        for src, dst in ((new_cert, live_cert), (new_key, live_key)):
            shutil.copy(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
    t0 = time.time()
    r = cli("reload", "--control", control)
    took = time.time() - t0
    check(r.returncode == 0, "reload %d failed: %s %s" % (i + 1, r.stdout, r.stderr))
    times.append(took)
    if i == 5:
        renewed_at = time.time()
        s = tls_client.connect(tw.port)
        check(fingerprint(s) == new_fp, "a connection after the reload got the old certificate")
        s.close()
    time.sleep(0.3)
log("ok: 10 reloads, %.2fs to %.2fs each (mean %.2fs)"
    % (min(times), max(times), sum(times) / len(times)))

time.sleep(0.5)
results = loop.stop()
errors = transfers.wait()
check(not errors, "broken transfers: %s" % errors[:5])
check(transfers.done == 50, "%d of 50 transfers completed" % transfers.done)
failed = [r for r in results if not r[2]]
check(not failed, "%d of %d handshakes failed: %s" % (len(failed), len(results), failed[:3]))
stale = [r for r in results if r[0] > renewed_at and r[4] != new_fp]
check(not stale, "%d connections after the renewal saw the old certificate" % len(stale))
check(any(r[4] == old_fp for r in results), "no connection saw the old certificate at all")
log("ok: %d new connections during the reloads, none failed; renewed certificate served"
    % len(results))

check(tw.count(r"event=reloaded ") == 10, "not 10 reloads logged")
# The old generations are gone: one netproc and two helpers remain.
wait_until(lambda: len(tw.children()) == 3, 10 * SLOW, "old helpers did not exit")
check(tw.count(r"event=child_died") == 0, "a process died during the reloads")
check(tw.stop() == 0, "tlsward did not exit 0")
tw.check_clean_log()
source.stop()
tmp.cleanup()
