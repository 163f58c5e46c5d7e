"""SNI with `openssl s_client -servername`: each name gets its certificate,
a wildcard matches one label, ECDSA or RSA for the same name is chosen by
the signature algorithms the client offers, unknown names get the default
certificate, or are refused (unrecognized_name, reason in the log) with
--unknown-sni refuse."""
import re
import subprocess

from harness import *
from tls_certs import issue, make_ca

tmp = TempDir()
ca = make_ca(tmp.path, "SNI test CA")
a_ec = issue(tmp.path, "a-ec", ca, "a-ecdsa", dns=["a.test"])
a_rsa = issue(tmp.path, "a-rsa", ca, "a-rsa", dns=["a.test"], kind="rsa")
b = issue(tmp.path, "b", ca, "b-wild", dns=["*.b.test"])
backend = Backend("http", body=b"sni ok\n")


def s_client(port, name, *extra):
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", ca.crt,
            "-verify_return_error", "-ign_eof", *extra]
    if name:
        args += ["-servername", name]
    p = subprocess.run(args, input=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", capture_output=True,
                       timeout=30)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"subject=CN = (\S+)", out)
    return p.returncode, (m.group(1) if m else None), out + p.stderr.decode(errors="replace")


certs = ["--cert", a_ec.crt, "--key", a_ec.key_path, "--cert", a_rsa.crt, "--key",
         a_rsa.key_path, "--cert", b.crt, "--key", b.key_path]
tw = Tlsward(["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--helpers", "2",
              *certs])
for name, extra, want in [
    ("a.test", [], "a-ecdsa"),
    ("a.test", ["-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"], "a-rsa"),
    ("a.test", ["-tls1_2", "-sigalgs", "RSA+SHA256"], "a-rsa"),
    ("www.b.test", [], "b-wild"),
    ("API.B.TEST", [], "b-wild"),
    ("nothing.test", [], "a-ecdsa"),  # unknown: the default (the first certificate)
    (None, [], "a-ecdsa"),            # no SNI: the default
]:
    code, subject, out = s_client(tw.port, name, *extra)
    check(subject == want, "SNI %s %s: got certificate %s, expected %s:\n%s"
          % (name, extra, subject, want, out))
    if name != "nothing.test" and name is not None:
        check(code == 0 and "sni ok" in out, "SNI %s %s: no answer:\n%s" % (name, extra, out))
    log("ok: SNI %s %s -> %s" % (name, " ".join(extra), subject))
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

# Unknown names refused.
tw = Tlsward(["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--helpers", "1",
              "--unknown-sni", "refuse", *certs])
code, subject, out = s_client(tw.port, "nothing.test")
check(code != 0 and subject is None, "an unknown name was served:\n%s" % out)
check("unrecognized name" in out, "s_client did not get unrecognized_name:\n%s" % out)
tw.wait_for(r'event=handshake_failed .*alert=112 .*unknown server name '
            r'\\"nothing.test\\"')
log("ok: unknown name refused with unrecognized_name, reason logged")
code, subject, out = s_client(tw.port, "a.test")
check(code == 0 and subject == "a-ecdsa", "a known name failed with --unknown-sni refuse:\n%s" % out)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
