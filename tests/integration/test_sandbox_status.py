"""The children run sandboxed, as the kernel reports it in /proc/PID/status:
seccomp filter mode, no_new_privs, no core dumps, no new processes. As root,
netproc and the helpers run as two different users, neither root, with no
capabilities, chrooted into the empty directory; started unprivileged, the
user and chroot steps are skipped with one log line. As root, a configured
user that does not exist stops the start with a message naming it."""
import os
import pwd
import subprocess

import logfmt
import tls_client
from harness import *

CHROOT = "/run/tlsward/empty"


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def limits(pid):
    with open("/proc/%d/limits" % pid) as f:
        return f.read()


def check_sandboxed(tw, helpers):
    """Every child: seccomp filter, no_new_privs, limits. Returns {title: status}."""
    titles = ["tlsward: netproc"] + ["tlsward: crypto[%d]" % i for i in range(helpers)]
    found = {}
    for title in titles:
        pid = tw.child_pid(title)
        check(pid is not None, "no %r running: %r" % (title, tw.children()))
        st = status(pid)
        check(st.get("Seccomp") == "2", "%s: Seccomp: %r, want 2 (filter)" % (title, st.get("Seccomp")))
        check(int(st.get("Seccomp_filters", "1")) >= 1, "%s: no seccomp filter" % title)
        check(st.get("NoNewPrivs") == "1", "%s: NoNewPrivs: %r" % (title, st.get("NoNewPrivs")))
        lim = limits(pid)
        check(re.search(r"Max processes\s+0\s+0\s", lim), "%s: RLIMIT_NPROC is not 0:\n%s" % (title, lim))
        check(re.search(r"Max core file size\s+0\s+0\s", lim), "%s: RLIMIT_CORE is not 0" % title)
        found[title] = (pid, st)
    return found


tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
root = os.geteuid() == 0

# --- As started by the test (root in CI) ----------------------------------------
tw = Tlsward(server_args(backend, cert, key, helpers=2))
check(tls_client.echo_round_trip(tw.port, ctx=tls_client.context(cafile=cert))
      == b"hello through tlsward\n", "echo through the sandboxed children failed")
children = check_sandboxed(tw, 2)
np_pid, np_st = children["tlsward: netproc"]
uid = lambda st: [int(x) for x in st["Uid"].split()]
gid = lambda st: [int(x) for x in st["Gid"].split()]
if root:
    np_uid = uid(np_st)
    check(len(set(np_uid)) == 1 and np_uid[0] != 0, "netproc uids %r" % np_uid)
    check(np_uid[0] == pwd.getpwnam("tlsward").pw_uid, "netproc does not run as tlsward")
    helper_uids = set()
    for title, (pid, st) in children.items():
        check(st["CapEff"] == "0000000000000000" and st["CapPrm"] == "0000000000000000",
              "%s keeps capabilities: %s" % (title, st["CapEff"]))
        check(st["Groups"] == "", "%s keeps supplementary groups: %r" % (title, st["Groups"]))
        check(len(set(gid(st))) == 1 and gid(st)[0] != 0, "%s gids %r" % (title, gid(st)))
        check(os.readlink("/proc/%d/root" % pid) == CHROOT,
              "%s is not chrooted to %s" % (title, CHROOT))
        if title != "tlsward: netproc":
            u = uid(st)
            check(len(set(u)) == 1 and u[0] != 0, "%s uids %r" % (title, u))
            check(u[0] != np_uid[0], "%s runs as netproc's uid %d" % (title, u[0]))
            helper_uids.add(u[0])
    check(helper_uids == {pwd.getpwnam("tlsward-crypto").pw_uid},
          "helpers do not all run as tlsward-crypto: %r" % helper_uids)
    log("ok: netproc uid %d, helpers uid %d, all chrooted to %s, no capabilities, "
        "Seccomp 2, NoNewPrivs 1" % (np_uid[0], helper_uids.pop(), CHROOT))
else:
    check(tw.count(r"event=sandbox_note .*started unprivileged") == 3,
          "no 'started unprivileged' line per child:\n" + tw.log_text())
    log("ok: unprivileged, Seccomp 2 and NoNewPrivs 1 in every child")
check(tw.count(r"event=sandboxed process=netproc") == 1, "no event=sandboxed for netproc")
check(tw.count(r"event=sandboxed process=crypto") == 2, "no event=sandboxed per helper")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

if root:
    # --- Started unprivileged: the user and chroot steps are skipped, and said so ---
    nobody = pwd.getpwnam("nobody")
    os.chmod(tmp.path, 0o755)
    os.chown(key, nobody.pw_uid, nobody.pw_gid)
    run_dir = tmp.file("run")
    os.mkdir(run_dir, 0o700)
    os.chown(run_dir, nobody.pw_uid, nobody.pw_gid)
    tw = Tlsward(server_args(backend, cert, key, "--control", os.path.join(run_dir, "control.sock"),
                             helpers=1),
                 wrapper=("setpriv", "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid),
                         "--clear-groups"))
    check(tls_client.echo_round_trip(tw.port, ctx=tls_client.context(cafile=cert))
          == b"hello through tlsward\n", "echo (unprivileged) failed")
    children = check_sandboxed(tw, 1)
    for title, (pid, st) in children.items():
        check(uid(st)[0] == nobody.pw_uid, "%s does not run as nobody" % title)
    notes = tw.count(r'event=sandbox_note note="started unprivileged \(uid %d\): user and chroot '
                     r'steps skipped"' % nobody.pw_uid)
    check(notes == 2, "want one 'started unprivileged' line per child, got %d:\n%s"
          % (notes, tw.log_text()))
    check(tw.stop() == 0, "tlsward (unprivileged) exit status")
    tw.check_clean_log()
    log("ok: unprivileged run: user and chroot steps skipped with one line each; Seccomp 2")

    # --- A configured user that does not exist stops the start, naming it ---
    for setting, name in (("user", "tlsward-no-such-user"), ("crypto_user", "tlsward-no-such-cp")):
        conf = tmp.file("missing-%s.toml" % setting)
        with open(conf, "w") as f:
            f.write('[global]\n%s = "%s"\n\n[[service]]\nname = "web"\nlisten = "127.0.0.1:0"\n'
                    'target = "%s"\ncert = "%s"\nkey = "%s"\n'
                    % (setting, name, backend.address, cert, key))
        r = subprocess.run([TLSWARD, "run", "--config", conf, "--control", tmp.file("c2.sock")],
                           capture_output=True, text=True, timeout=20 * SLOW)
        out = r.stdout + r.stderr
        check(r.returncode != 0, "tlsward started with a missing %s:\n%s" % (setting, out))
        reasons = [logfmt.fields(logfmt.split_line(l)[2]).get("reason", "")
                   for l in out.splitlines() if "event=start_failed" in l]
        check(any('%s "%s" does not exist' % (setting, name) in r for r in reasons),
              "the refusal does not name the missing %s:\n%s" % (setting, out))
        check("event=spawned" not in out, "a child was started before the check:\n" + out)
        log("ok: missing %s %r: refused to start, naming it" % (setting, name))

backend.stop()
tmp.cleanup()
