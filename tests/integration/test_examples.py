"""The files in examples/ work as copied. Each one passes `tlsward check` with
the files it names made for it (certificates for the names it serves, CAs,
a CRL, an OCSP response, a ticket key file) under a scratch folder that
stands for /etc/tlsward, and the one remote host (db.example.net) read as
localhost; nothing else of the file is changed. Then
examples/sni-two-names.toml runs, listening on a free loopback port in
front of an HTTP/1.1 application, and curl, which speaks HTTP/2 when the
server offers it, gets the application's answer for both names over
HTTP/1.1: the ALPN list advertises what the backend speaks."""
import base64
import glob
import os
import re
import subprocess
import tomllib

from harness import *
from tls_certs import chain_file, issue, make_ca, make_crl, make_ocsp

EXAMPLES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))

tmp = TempDir()
ca = make_ca(tmp.path, "example CA")
etc = tmp.file("etc")
os.mkdir(etc)


def names_for(path):
    """The names a certificate file of the examples stands for."""
    base = os.path.basename(path)
    if base.startswith("shop"):
        return ["shop.example.com"]
    if base.startswith(("www", "web")):
        return ["www.example.com", "example.com"]
    return [base.split("-")[0].split(".")[0] + ".example.com"]


def make_files(config):
    """Every file `config` (parsed) names, made under etc/."""
    made = {}

    def leaf(cert, key, client=False):
        name = os.path.splitext(os.path.basename(cert))[0]
        issued = issue(tmp.path, name, ca, names_for(cert)[0], dns=names_for(cert),
                       kind="rsa" if "rsa" in name else "ec", client=client)
        os.replace(chain_file(tmp.path, name + "-chain", issued, ca), cert)
        os.replace(issued.key_path, key)
        made[cert] = issued
        return issued

    for s in config.get("service", []):
        client = s.get("mode") == "client"
        pairs = [(c["cert"], c["key"], c.get("ocsp")) for c in s.get("certificate", [])]
        if "cert" in s:
            pairs.append((s["cert"], s["key"], s.get("ocsp")))
        for cert, key, ocsp in pairs:
            issued = leaf(cert, key, client=client)
            if ocsp:
                os.replace(make_ocsp(tmp.path, "ocsp", issued, ca), ocsp)
        for k in ("ca", "client_ca"):
            if k in s:
                os.replace(chain_file(tmp.path, "ca-copy", ca), s[k])
        if "crl" in s:
            os.replace(make_crl(tmp.path, "crl", ca), s["crl"])
    tk = config.get("global", {}).get("ticket_key_file")
    if tk:
        write_file(tk, "# two keys, as openssl rand -base64 80 makes them\n" +
                   "".join(base64.b64encode(os.urandom(80)).decode() + "\n" for _ in range(2)),
                   0o600)
    return made


def as_copied(path):
    """The text of an example with /etc/tlsward/ under etc/ and
    db.example.net read as localhost."""
    with open(path) as f:
        text = f.read()
    text = text.replace("/etc/tlsward/", etc + "/").replace("db.example.net", "localhost")
    return text.replace("unix:/run/app/", "unix:" + tmp.path + "/")


files = sorted(glob.glob(os.path.join(EXAMPLES, "*.toml")))
check(len(files) >= 4, "examples/ has only %s" % files)
for path in files:
    text = as_copied(path)
    conf = tmp.file(os.path.basename(path))
    write_file(conf, text)
    make_files(tomllib.loads(text))
    r = cli("check", "--config", conf)
    check(r.returncode == 0, "tlsward check %s:\n%s%s" % (os.path.basename(path), r.stdout,
                                                           r.stderr))
    log("ok: %s passes tlsward check" % os.path.basename(path))

# The SNI example, run: listening on loopback in front of an HTTP/1.1 app.
app = Backend("http", body=b"hello from an HTTP/1.1 application\n")
port = free_port()
text = as_copied(os.path.join(EXAMPLES, "sni-two-names.toml"))
text, n = re.subn(r'(?m)^listen = .*$', 'listen = "127.0.0.1:%d"' % port, text)
check(n == 1, "no listen line in the SNI example")
text, n = re.subn(r'(?m)^target = "127\.0\.0\.1:8080"', 'target = "%s"' % app.address, text)
check(n == 1, "no target 127.0.0.1:8080 in the SNI example")
conf = tmp.file("sni-run.toml")
write_file(conf, text)
tw = Tlsward(["run", "--config", conf, "--control", tmp.file("control")])
cafile = chain_file(tmp.path, "trust", ca)
for host in ("www.example.com", "shop.example.com"):
    r = subprocess.run(["curl", "-sS", "--max-time", str(20 * SLOW), "--cacert", cafile,
                        "--resolve", "%s:%d:127.0.0.1" % (host, port), "-w", "\n%{http_version}",
                        "https://%s:%d/" % (host, port)], capture_output=True, timeout=60 * SLOW)
    body, _, version = r.stdout.rpartition(b"\n")
    check(r.returncode == 0 and body == app.body and version == b"1.1",
          "curl https://%s through the SNI example: exit %d, %r, HTTP %r, %s\n%s"
          % (host, r.returncode, body, version, r.stderr.decode(), tw.log_text()))
    log("ok: curl reaches the HTTP/1.1 application as %s over HTTP/%s" % (host, version.decode()))
tw.wait_for(r'event=close .*alpn="http/1.1"', count=2, timeout=10 * SLOW)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
app.stop()
tmp.cleanup()
