"""The control socket: given as a relative --control path (made absolute),
mode 0600; `tlsward status` in text and JSON with live counts; `tlsward
reload` answers when the new generation serves; a second daemon on the same
path is refused; the socket is removed on exit."""
import json
import os
import stat

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
os.chdir(tmp.path)
control = tmp.file("ctl.sock")
tw = Tlsward(server_args(backend, cert, key, "--control", "ctl.sock", helpers=2))
os.chdir("/")
tw.wait_for(r"event=control_socket path=%s" % re.escape(control))
mode = os.stat(control).st_mode
check(stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, "mode %o" % stat.S_IMODE(mode))
log("ok: control socket %s, mode 0600" % control)

held = [tls_client.connect(tw.port) for _ in range(3)]


def status():
    r = cli("status", "--json", "--control", control)
    check(r.returncode == 0, "status failed: %s" % r.stderr)
    return json.loads(r.stdout)


s = wait_until(lambda: (lambda s: s if s["connections"]["open"] == 3 else None)(status()),
               5 * SLOW, "status never showed the 3 open connections")
check(s["state"] == "running" and s["generation"] == 1, "state %s gen %s" % (s["state"], s["generation"]))
check(s["pid"] == tw.proc.pid, "pid %s" % s["pid"])
roles = sorted((p["role"], p["state"]) for p in s["processes"])
check(roles == [("crypto", "ready"), ("crypto", "ready"), ("netproc", "ready")], "%s" % roles)
check(s["helpers"] == {"ready": 2, "configured": 2}, "helpers %s" % s["helpers"])
check(s["handshakes"]["ok"] >= 3, "handshakes %s" % s["handshakes"])
check(s["services"][0]["listen"] == ["127.0.0.1:%d" % tw.port], "listen %s" % s["services"])
log("ok: status --json: %d open, %d handshakes ok, 3 processes ready"
    % (s["connections"]["open"], s["handshakes"]["ok"]))
for h in held:
    h.close()

text = cli("status", "--control", control).stdout
for want in ("generation 1", "netproc", "crypto[0]", "crypto[1]", "connections: ", "server (server)"):
    check(want in text, "status text lacks %r:\n%s" % (want, text))

r = cli("reload", "--control", control)
check(r.returncode == 0 and "generation 2" in r.stdout, "reload: %s %s" % (r.stdout, r.stderr))
s = status()
check(s["generation"] == 2 and s["reloads"]["ok"] == 1, "after reload: %s" % s["reloads"])
log("ok: %s" % r.stdout.strip())

# A second daemon on the same (explicit) path is refused; the first is untouched.
second = Tlsward(server_args(backend, cert, key, "--control", control, helpers=1), wait_ready=False)
second.wait_for(r"event=start_failed .*in use by a running process \(pid %d\)" % tw.proc.pid)
check(second.proc.wait(timeout=20 * SLOW) == 1, "a second daemon on the same path started")
check(status()["generation"] == 2, "the first daemon is not answering any more")
log("ok: a second daemon on the same path refused")

r = cli("status", "--control", tmp.file("nobody"))
check(r.returncode == 1 and "cannot reach tlsward" in r.stderr, "bad path: %r" % r.stderr)
check(tw.stop() == 0, "tlsward did not exit 0")
check(not os.path.exists(control), "the control socket was left behind")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
