"""`tlsward check` accepts a good file and names the file and line of a bad
value (a file it cannot read at its key's line, an unquoted address with a
hint); `tlsward run` refuses to start on it."""
import subprocess

from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)

good = tmp.file("good.toml")
with open(good, "w") as f:
    f.write("""[global]
helpers = 2

[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "127.0.0.1:8080"
cert = "%s"
key = "%s"
""" % (cert, key))
r = subprocess.run([TLSWARD, "check", "--config", good], capture_output=True, text=True)
check(r.returncode == 0, "check of a good file failed: %s" % r.stderr)

bad = tmp.file("bad.toml")
with open(bad, "w") as f:
    f.write("""[global]
helpers = 2

[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "127.0.0.1:8080"
handshake_timeout = "ten seconds"
cert = "%s"
key = "%s"
""" % (cert, key))
r = subprocess.run([TLSWARD, "check", "--config", bad], capture_output=True, text=True)
check(r.returncode == 2, "check of a bad file exited %d" % r.returncode)
check(r.stderr.startswith(bad + ":8:"), "error does not name %s:8: %r" % (bad, r.stderr))
check("handshake_timeout" in r.stderr, "error does not name the key: %r" % r.stderr)
log("ok: " + r.stderr.strip())

missing_key = tmp.file("missing.toml")
with open(missing_key, "w") as f:
    f.write("""[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "127.0.0.1:8080"
cert = "%s"
key = "%s"
""" % (cert, tmp.file("nope.key")))
r = subprocess.run([TLSWARD, "check", "--config", missing_key], capture_output=True, text=True)
check(r.returncode == 2 and "nope.key" in r.stderr, "missing key file not named: %r" % r.stderr)
# At the line of the key, not of [[service]].
check(r.stderr.startswith(missing_key + ":6:"), "not at the key's line: %r" % r.stderr)
log("ok: " + r.stderr.strip())

# The same in a [[service.certificate]] table, the second of two.
missing_table_key = tmp.file("missing-table.toml")
with open(missing_table_key, "w") as f:
    f.write("""[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "127.0.0.1:8080"
[[service.certificate]]
cert = "%s"
key = "%s"
[[service.certificate]]
cert = "%s"

key = "%s"
""" % (cert, key, cert, tmp.file("nope.key")))
r = subprocess.run([TLSWARD, "check", "--config", missing_table_key], capture_output=True,
                   text=True)
check(r.returncode == 2 and r.stderr.startswith(missing_table_key + ":11:"),
      "missing key of a certificate table not at its line: %r" % r.stderr)
log("ok: " + r.stderr.strip())

# An address without quotes: TOML's own error, and a hint.
unquoted = tmp.file("unquoted.toml")
with open(unquoted, "w") as f:
    f.write("""[[service]]
name = "web"
listen = "127.0.0.1:0"
target = 127.0.0.1:31080
cert = "%s"
""" % cert)
r = subprocess.run([TLSWARD, "check", "--config", unquoted], capture_output=True, text=True)
check(r.returncode == 2 and r.stderr.startswith(unquoted + ":4:") and
      '(a string needs double quotes: target = "127.0.0.1:31080")' in r.stderr,
      "no quote hint: %r" % r.stderr)
log("ok: " + r.stderr.strip())


r = subprocess.run([TLSWARD, "run", "--config", bad], capture_output=True, text=True, timeout=10)
check(r.returncode != 0 and bad + ":8:" in r.stderr, "run started on a bad file: %r" % r.stderr)

tmp.cleanup()
