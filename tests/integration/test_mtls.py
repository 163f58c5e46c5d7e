"""Mutual TLS with curl: a client certificate on the allow-list is served; one
that is not (bob), one from another CA, one revoked by the CRL and no
certificate at all are refused, each with its alert and a log line that
names the reason. The backend's answer only reaches allowed clients."""
import subprocess

from harness import *
from tls_certs import issue, make_ca, make_crl

tmp = TempDir()
server_ca = make_ca(tmp.path, "server CA")
server = issue(tmp.path, "server", server_ca, "localhost", dns=["localhost"], ips=["127.0.0.1"])
clients = make_ca(tmp.path, "clients CA")
alice = issue(tmp.path, "alice", clients, "alice", client=True)
bob = issue(tmp.path, "bob", clients, "bob", client=True)
svc = issue(tmp.path, "svc", clients, "svc-7", client=True,
            uris=["spiffe://example.org/ns/prod/sa/api"])
mallory = issue(tmp.path, "mallory", clients, "alice", client=True)  # allowed name, revoked
stranger_ca = make_ca(tmp.path, "stranger CA")
stranger = issue(tmp.path, "stranger", stranger_ca, "alice", client=True)
crl = make_crl(tmp.path, "clients", clients, revoked=[mallory])
backend = Backend("http", body=b"hello, verified client\n")

tw = Tlsward(["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--helpers", "2",
              "--cert", server.crt, "--key", server.key_path, "--client-ca", clients.crt,
              "--allow-cn", "alice", "--allow-uri", "spiffe://example.org/ns/prod/*",
              "--crl", crl])


def curl(who, *flags):
    args = ["curl", "-sS", "--cacert", server_ca.crt, *flags]
    if who is not None:
        args += ["--cert", who.crt, "--key", who.key_path]
    r = subprocess.run(args + ["https://localhost:%d/" % tw.port], capture_output=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


for version in (["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"]):
    for who in (alice, svc):
        code, out, err = curl(who, *version)
        check(code == 0 and out == b"hello, verified client\n",
              "%s %s was refused: %s" % (who.cert.subject.rfc4514_string(), version, err))
    log("ok: %s: allowed CN and SPIFFE URI served" % version[0])

cases = [
    (bob, "alert=42 .*client certificate CN=bob.* is not allowed", "not on the allow-list"),
    (stranger, "alert=48 .*client certificate refused: unable to get local issuer",
     "another CA"),
    (mallory, "alert=44 .*client certificate refused: certificate revoked", "revoked"),
    (None, "did not return a certificate", "no certificate"),
]
for who, reason, what in cases:
    for version in (["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"]):
        mark = tw.mark()
        code, out, err = curl(who, *version)
        check(code != 0 and b"verified client" not in out,
              "%s (%s) got through: %s" % (what, version, out))
        tw.wait_for(r"event=handshake_failed .*" + reason, start=mark)
        tw.wait_for(r"event=close .*handshake failed: alert_sent", start=mark)
    log("ok: %s refused with the right alert, reason logged" % what)

# TLS 1.3 refuses a missing certificate with certificate_required (116),
# an alert OpenSSL 3.0's SSL_alert_desc_string_long calls "unknown".
mark = tw.mark()
curl(None, "--tlsv1.3")
tw.wait_for(r'event=handshake_failed .*alert=116 .*detail="sent alert certificate_required: '
            r'.*did not return a certificate', start=mark)
check(tw.count(r"alert unknown:", start=0) == 0, "an alert logged as unknown:\n" + tw.log_text())
log("ok: TLS 1.3's certificate_required named in the log")

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

# verify_client = optional: no certificate is fine, a bad one is not.
tw = Tlsward(["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--helpers", "1",
              "--cert", server.crt, "--key", server.key_path, "--client-ca", clients.crt,
              "--verify-client", "optional"])
code, out, err = curl(None)
check(code == 0 and out == b"hello, verified client\n", "optional: refused without: %s" % err)
code, out, err = curl(stranger)
check(code != 0, "optional: a certificate of another CA got through")
log("ok: verify-client optional")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
