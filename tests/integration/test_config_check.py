"""`tlsward check` accepts a good file and names the file and line of a bad
value (a file it cannot read at its key's line, an unquoted address with a
hint); `check --print` writes what is in effect as TOML that loads back;
`tlsward run` refuses to start on a bad file, and its --log-level wins over
the file's."""
import os
import subprocess

import tls_client
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

# check --print: the configuration in effect on stdout, the verdict on
# stderr; the print loads back and prints the same again; a combined PEM
# given as a systemd credential is named by its path, never shown.
creds = tmp.file("creds")
os.mkdir(creds)
with open(os.path.join(creds, "web.pem"), "w") as f:
    f.write(open(cert).read() + open(key).read())
printable = tmp.file("printable.toml")
with open(printable, "w") as f:
    f.write("""[global]
helpers = 2
[[service]]
name = "web"
listen = "127.0.0.1:0"
target = "127.0.0.1:8080"
cert = "credential:web.pem"
alpn = ["h2", "http/1.1"]
""")
env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
r = subprocess.run([TLSWARD, "check", "--config", printable, "--print"], capture_output=True,
                   text=True, env=env)
check(r.returncode == 0 and r.stderr.strip().endswith(printable + ": OK (1 services)"),
      "check --print failed: %r" % r.stderr)
printed = r.stdout
for want in ("helpers = 2\n", "drain_time = \"30s\"\n", "handshake_timeout = \"10s\"\n",
             "cert = \"%s/web.pem\"\n" % creds, "key = \"%s/web.pem\"\n" % creds,
             "alpn = [\"h2\", \"http/1.1\"]\n"):
    check(want in printed, "check --print lacks %r:\n%s" % (want, printed))
check("PRIVATE KEY" not in printed and "BEGIN" not in printed,
      "check --print shows file contents:\n" + printed)
again = tmp.file("again.toml")
with open(again, "w") as f:
    f.write(printed)
r = subprocess.run([TLSWARD, "check", "--config", again, "--print"], capture_output=True,
                   text=True)
check(r.returncode == 0, "the printed configuration does not load: %r" % r.stderr)
check(r.stdout.split("\n", 1)[1] == printed.split("\n", 1)[1],
      "the printed configuration prints differently")
log("ok: check --print loads back")

r = subprocess.run([TLSWARD, "run", "--config", bad], capture_output=True, text=True, timeout=10)
check(r.returncode != 0 and bad + ":8:" in r.stderr, "run started on a bad file: %r" % r.stderr)

# run --log-level wins over the file's log_level, also after a reload: the
# file says "error", yet info and debug lines are logged.
backend = Backend("echo")
quiet = tmp.file("quiet.toml")
write_file(quiet, service_config(backend.address, cert=cert, key=key,
                                 global_extra='log_level = "error"',
                                 service_extra="log_connections = false"))
control = tmp.file("control")
# Tlsward waits for the info line event=ready: the override is in force.
tw = Tlsward(["run", "--config", quiet, "--control", control, "--log-level", "debug"])


def debug_close_after(mark):
    """A connection's close line, at debug for a log_connections = false service."""
    s = tls_client.connect(tw.port)
    s.sendall(b"x\n")
    check(s.recv(10) == b"x\n", "no echo")
    s.close()
    tw.wait_for(r" debug netproc\[\d+\]: event=close ", start=mark)


debug_close_after(0)
mark = tw.mark()
reload_ok(control)
tw.wait_for("event=reloaded", start=mark)
debug_close_after(tw.mark())
tw.stop()
tw.check_clean_log()
backend.stop()
log("ok: run --log-level debug over log_level = \"error\", across a reload")
tmp.cleanup()
