"""gnutls-cli (GnuTLS, a different TLS library) through tlsward, TLS 1.3 and
TLS 1.2 with each AEAD."""
import subprocess

from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("http", body=b"gnutls says hi\n")
tw = Tlsward(server_args(backend, cert, key))
priorities = [
    "NORMAL:-VERS-ALL:+VERS-TLS1.3",
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM",
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM",
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305",
]
for prio in priorities:
    r = subprocess.run(["gnutls-cli", "--x509cafile", cert, "--priority", prio, "-p",
                        str(tw.port), "localhost"],
                       input=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", capture_output=True,
                       timeout=30)
    out = r.stdout.decode(errors="replace")
    check("gnutls says hi" in out, "gnutls-cli %s: no answer (exit %d):\n%s\n%s"
          % (prio, r.returncode, out, r.stderr.decode(errors="replace")))
    log("ok: gnutls-cli %s" % prio)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
