"""curl through tlsward, TLS 1.3 and TLS 1.2, verifying the certificate."""
import subprocess

from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
body = b"curl was here\n" * 1000
backend = Backend("http", body=body)
tw = Tlsward(server_args(backend, cert, key))
for flags in (["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"]):
    r = subprocess.run(["curl", "-sS", "--fail", "--cacert", cert, *flags,
                        "https://localhost:%d/" % tw.port], capture_output=True, timeout=30)
    check(r.returncode == 0, "curl %s failed: %s" % (flags, r.stderr.decode()))
    check(r.stdout == body, "curl %s: body differs (%d bytes)" % (flags, len(r.stdout)))
    log("ok: curl %s, %d bytes" % (" ".join(flags), len(r.stdout)))
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
