"""A reload that cannot work changes nothing: a broken key file, then a
configuration error. Each is refused with the exact error (in the log and
from `tlsward reload`), the same processes keep serving the old
certificate, and a fixed reload then goes through."""
import hashlib
import json
import ssl

import tls_client
from harness import *
from load import fingerprint

tmp = TempDir()
cert, key = make_cert(tmp.path, "web")
backend = Backend("echo")
control = tmp.file("control")
config_path = tmp.file("tlsward.toml")
CONFIG = service_config(backend.address, helpers=2)
write_file(config_path, CONFIG)

tw = Tlsward(["run", "--config", config_path, "--control", control])
port = tw.port
pids = sorted(tw.children())


def served_fingerprint():
    s = tls_client.connect(port)
    fp = fingerprint(s)
    s.sendall(b"x\n")
    check(s.recv(10) == b"x\n", "no echo")
    s.close()
    return fp


fp = served_fingerprint()
good_key = open(key).read()

# 1. A broken key file.
with open(key, "w") as f:
    f.write("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
mark = tw.mark()
r = cli("reload", "--control", control)
check(r.returncode == 1, "reload with a broken key exited %d" % r.returncode)
check(key in r.stderr, "`tlsward reload` did not name the key file: %r" % r.stderr)
line = tw.wait_for(r"event=reload_failed", start=mark)[0]
check(key in line and "kept generation 1" in line, "log line lacks the file: %s" % line)
log("ok: broken key refused: %s" % r.stderr.strip().splitlines()[0])
check(sorted(tw.children()) == pids, "processes changed after a failed reload")
check(served_fingerprint() == fp, "the certificate changed after a failed reload")
check(tw.count(r"event=spawned", start=mark) == 0, "a failed reload started processes")

# 2. A configuration error names FILE:LINE.
with open(key, "w") as f:
    f.write(good_key)
BAD = service_config(backend.address, helpers=2, global_extra='handshake_timeot = "5s"')
write_file(config_path, BAD)
bad_line = BAD.splitlines().index('handshake_timeot = "5s"') + 1
mark = tw.mark()
r = cli("reload", "--control", control)
check(r.returncode == 1, "reload with a bad config exited %d" % r.returncode)
check("%s:%d:" % (config_path, bad_line) in r.stderr, "no FILE:LINE in %r" % r.stderr)
tw.wait_for(r"event=reload_failed .*tlsward.toml:%d:" % bad_line, start=mark)
log("ok: configuration error refused: %s" % r.stderr.strip().splitlines()[0])
status = json.loads(cli("status", "--json", "--control", control).stdout)
check(status["generation"] == 1, "generation moved: %s" % status["generation"])
check(status["reloads"]["failed"] == 2, "failed reloads not counted: %s" % status["reloads"])
check("tlsward.toml:%d:" % bad_line in status["reloads"]["last_error"],
      "status lacks the last error")
check(sorted(tw.children()) == pids, "processes changed after a failed reload")
check(served_fingerprint() == fp, "the certificate changed after a failed reload")

# 3. Fixed, with a new certificate: the reload goes through.
new_cert, new_key = make_cert(tmp.path, "web", cn="renewed")
write_file(config_path, CONFIG)
r = cli("reload", "--control", control)
check(r.returncode == 0, "the fixed reload failed: %s" % r.stderr)
new_fp = hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(new_cert).read())).hexdigest()
check(served_fingerprint() == new_fp, "the renewed certificate is not served")
check(port == tw.port, "port changed")
log("ok: %s" % r.stdout.strip())
check(tw.stop() == 0, "tlsward did not exit 0")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
