"""`openssl s_client` through tlsward with every suite tlsward offers: each
TLS 1.3 suite, and TLS 1.2 ECDHE-ECDSA and ECDHE-RSA with AES-GCM and
ChaCha20-Poly1305. The client sees the backend's answer and the suite it asked
for, and the connection ends with tlsward's close_notify."""
import re
import subprocess

from harness import *

tmp = TempDir()
ec_cert, ec_key = make_cert(tmp.path, "ec", "ec")
rsa_cert, rsa_key = make_cert(tmp.path, "rsa", "rsa2048")
backend = Backend("http", body=b"served through tlsward\n")


def s_client(port, cafile, args):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", "localhost", "-CAfile", cafile, "-verify_return_error",
                        "-ign_eof", *args],
                       input=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


cases = {
    (ec_cert, ec_key): [
        ("1.3", "TLS_AES_128_GCM_SHA256"),
        ("1.3", "TLS_AES_256_GCM_SHA384"),
        ("1.3", "TLS_CHACHA20_POLY1305_SHA256"),
        ("1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
        ("1.2", "ECDHE-ECDSA-AES256-GCM-SHA384"),
        ("1.2", "ECDHE-ECDSA-CHACHA20-POLY1305"),
    ],
    (rsa_cert, rsa_key): [
        ("1.3", "TLS_AES_128_GCM_SHA256"),
        ("1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
        ("1.2", "ECDHE-RSA-AES256-GCM-SHA384"),
        ("1.2", "ECDHE-RSA-CHACHA20-POLY1305"),
    ],
}

for (cert, key), suites in cases.items():
    tw = Tlsward(server_args(backend, cert, key))
    for version, suite in suites:
        if version == "1.3":
            args = ["-tls1_3", "-ciphersuites", suite]
        else:
            args = ["-tls1_2", "-cipher", suite]
        code, out, err = s_client(tw.port, cert, args)
        check(code == 0, "s_client %s %s exited %d: %s" % (version, suite, code, err))
        check("served through tlsward" in out, "%s %s: no backend answer:\n%s" % (version, suite, out))
        m = re.search(r"Cipher is (\S+)", out)
        check(m and m.group(1) == suite, "%s: negotiated %s" % (suite, m and m.group(1)))
        check(("TLSv1.3" if version == "1.3" else "TLSv1.2") in out, "%s: wrong version" % suite)
        check("Verify return code: 0 (ok)" in out, "%s: certificate not verified" % suite)
        log("ok: TLS %s %s with %s certificate" % (version, suite, os.path.basename(cert)))
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
    closes = tw.count(r"event=close .*reason=\"(target closed|done|client sent close_notify)")
    check(closes == len(suites), "%d clean closes logged, expected %d:\n%s"
          % (closes, len(suites), tw.log_text()))

backend.stop()
tmp.cleanup()
