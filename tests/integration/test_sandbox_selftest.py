"""`tlsward selftest sandbox` puts each role's real sandbox on in throwaway
children, makes each forbidden call, and exits 0 only if the kernel stopped
every one: socket, openat, execve and ptrace (and more) in a helper, openat
and execve (and more) in netproc, all with SIGSYS."""
import subprocess

from harness import *

ensure_sandbox_users()
r = subprocess.run([TLSWARD, "selftest", "sandbox"], capture_output=True, text=True,
                   timeout=120 * SLOW)
out = r.stdout + r.stderr
log(out.rstrip())
check(r.returncode == 0, "selftest exit status %d:\n%s" % (r.returncode, out))

want = {
    "helper": ["socket", "connect", "accept", "bind", "openat", "open", "execve", "ptrace",
               "fork", "clone"],
    "netproc": ["openat", "open", "execve", "ptrace", "fork", "clone"],
    "signer": ["socket", "connect", "accept", "bind", "openat", "open", "execve", "ptrace",
               "fork", "clone", "kill"],
}
for role, calls in want.items():
    check(re.search(r"^%s\s+\(baseline\)\s+ok:" % role, out, re.M),
          "%s: the baseline (sandbox on, normal exit) did not pass:\n%s" % (role, out))
    for call in calls:
        check(re.search(r"^%s\s+%s\s+stopped \(SIGSYS\)$" % (role, re.escape(call)), out, re.M),
              "%s: %s was not stopped with SIGSYS:\n%s" % (role, call, out))
check("ALLOWED" not in out and "ERROR" not in out, "a call was allowed or a probe failed:\n" + out)
check(re.search(r"^result: (\d+) of \1 forbidden calls stopped: PASS$", out, re.M),
      "no PASS summary:\n" + out)
if os.geteuid() == 0:
    check(re.search(r"^netproc: uid \d+ gid \d+, chroot /", out, re.M) and
          re.search(r"^helper: uid \d+ gid \d+, chroot /", out, re.M),
          "as root the probes must also drop to the users and chroot:\n" + out)
log("ok: every forbidden call stopped with SIGSYS in every role")
