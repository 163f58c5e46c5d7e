"""Keys as systemd credentials: `cert = "credential:web.crt"` is the file
web.crt in $CREDENTIALS_DIRECTORY (what LoadCredential= fills). `check`
without the variable names LoadCredential=; with it the daemon serves the
certificate from there, and a reload reads the credential files again."""
import os
import shutil
import subprocess
import ssl

from harness import *
import tls_client

tmp = TempDir()
creds = os.path.join(tmp.path, "credentials")
os.mkdir(creds, 0o700)
first_cert, first_key = make_cert(tmp.path, "first")
shutil.copy(first_cert, os.path.join(creds, "web.crt"))
shutil.copy(first_key, os.path.join(creds, "web.key"))
backend = Backend("echo")

config = tmp.file("tlsward.toml")
with open(config, "w") as f:
    f.write("""[global]
helpers = 1

[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "%s"
cert = "credential:web.crt"
key = "credential:web.key"
""" % backend.address)

env = dict(os.environ)
env.pop("CREDENTIALS_DIRECTORY", None)
r = subprocess.run([TLSWARD, "check", "--config", config], capture_output=True, text=True,
                   env=env)
check(r.returncode == 2 and config + ":8:" in r.stderr and "LoadCredential=web.crt:" in r.stderr,
      "check without CREDENTIALS_DIRECTORY: %d %r" % (r.returncode, r.stderr))
log("ok: without $CREDENTIALS_DIRECTORY: " + r.stderr.strip())

env["CREDENTIALS_DIRECTORY"] = creds
r = subprocess.run([TLSWARD, "check", "--config", config], capture_output=True, text=True,
                   env=env)
check(r.returncode == 0, "check with the credentials failed: %r" % r.stderr)


def served_certificate(port):
    with tls_client.connect(port) as s:
        return ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True))


def pem_of(path):
    with open(path) as f:
        return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(f.read()))


control = tmp.file("control")
tw = Tlsward(["run", "--config", config, "--control", control],
             env={"CREDENTIALS_DIRECTORY": creds})
check(served_certificate(tw.port) == pem_of(first_cert), "the credential's certificate is not served")
check(tls_client.echo_round_trip(tw.port), "no echo through the credential-keyed service")
log("ok: serves the certificate and key from $CREDENTIALS_DIRECTORY")

# Renewed in the credentials directory (systemd fills it at start; an
# operator or a test may replace the files): a reload serves the new pair.
second_cert, second_key = make_cert(tmp.path, "second")
shutil.copy(second_cert, os.path.join(creds, "web.crt"))
shutil.copy(second_key, os.path.join(creds, "web.key"))
r = cli("reload", "--control", control)
check(r.returncode == 0, "reload failed: %s %s" % (r.stdout, r.stderr))
check(served_certificate(tw.port) == pem_of(second_cert), "a reload did not re-read the credentials")
log("ok: a reload re-reads the credential files")

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

# Quick mode takes the same names.
tw = Tlsward(["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--helpers", "1",
              "--cert", "credential:web.crt", "--key", "credential:web.key",
              "--control", tmp.file("control2")],
             env={"CREDENTIALS_DIRECTORY": creds})
check(served_certificate(tw.port) == pem_of(second_cert), "quick mode: credential not served")
check(tw.stop() == 0, "tlsward exit status (quick mode)")
log("ok: quick mode --cert/--key credential:NAME")
backend.stop()
tmp.cleanup()
