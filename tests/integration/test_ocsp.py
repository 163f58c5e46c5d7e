"""OCSP stapling: the DER response configured with a certificate is what
`openssl s_client -status` sees (successful, good, for this certificate);
a certificate without one staples nothing; a response for another
certificate is refused by `tlsward check`; a new file is stapled after a
reload."""
import os
import signal
import subprocess

from harness import *
from tls_certs import chain_file, issue, make_ca, make_ocsp

tmp = TempDir()
ca = make_ca(tmp.path, "OCSP test CA")
leaf = issue(tmp.path, "leaf", ca, "stapled.test", dns=["stapled.test"])
plain = issue(tmp.path, "plain", ca, "plain.test", dns=["plain.test"])
chain = chain_file(tmp.path, "chain", leaf, ca)
good = make_ocsp(tmp.path, "good", leaf, ca)
wrong = make_ocsp(tmp.path, "wrong", plain, ca)
backend = Backend("http", body=b"stapled\n")
config = tmp.file("tlsward.toml")


def write_config(ocsp):
    with open(config, "w") as f:
        f.write("""
[global]
helpers = 1
[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "%s"
[[service.certificate]]
cert = "%s"
key = "%s"
ocsp = "%s"
[[service.certificate]]
cert = "%s"
key = "%s"
""" % (backend.address, chain, leaf.key_path, ocsp, plain.crt, plain.key_path))


def s_client(port, name):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername",
                        name, "-CAfile", ca.crt, "-status", "-verify_return_error"],
                       input=b"", capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


write_config(wrong)
r = subprocess.run([TLSWARD, "check", "--config", config], capture_output=True, timeout=30)
check(r.returncode != 0 and b"the OCSP response is not about certificate CN=stapled.test"
      in r.stdout + r.stderr, "check accepted a response for another certificate:\n%s"
      % (r.stdout + r.stderr).decode())
log("ok: tlsward check refuses an OCSP response for another certificate")

write_config(good)
tw = Tlsward(["run", "--config", config, "--control", tmp.file("control.sock")])
code, out = s_client(tw.port, "stapled.test")
check(code == 0, "s_client failed:\n%s" % out)
check("OCSP Response Status: successful" in out and "Cert Status: good" in out,
      "no good staple for stapled.test:\n%s" % out)
log("ok: s_client -status sees the staple (successful, good)")
code, out = s_client(tw.port, "plain.test")
check(code == 0 and "OCSP response: no response sent" in out,
      "plain.test got a staple:\n%s" % out)
log("ok: the certificate without a response staples nothing")

# A new response (this one says "revoked"), read again on reload.
os.rename(make_ocsp(tmp.path, "fresh", leaf, ca, status="revoked"), good)
mark = tw.mark()
tw.proc.send_signal(signal.SIGHUP)
# "reloaded" comes once netproc serves the new generation; generation_switch
# is logged before netproc has switched, and a handshake in between still
# goes to the old helpers (with the old staple).
tw.wait_for(r"event=reloaded ", timeout=20 * SLOW, start=mark)
code, out = s_client(tw.port, "stapled.test")
check(code == 0 and "Cert Status: revoked" in out, "the new staple is not served:\n%s" % out)
log("ok: the staple is read again on reload")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
