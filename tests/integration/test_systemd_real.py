"""The packaged units (packaging/systemd) under a real systemd, with every
setting they have in force; only the binary's path (the build tree's) and
the socket's port are changed. The systemd runs as PID 1 of its own PID,
mount, UTS and IPC namespaces, booted into a target of its own:

- tlsward.service starts as Type=notify (systemctl start returns once
  READY=1 came; STATUS= says "running: ..."), its key a LoadCredential=
  credential, and runs as tlsward-supervisor with the unit's capability
  bounding set, no_new_privs and a seccomp filter;
- `systemctl reload` is a zero-drop reload: an established connection and
  a stream of new ones during it all go through;
- the journal (journalctl -o json) holds each line's pairs as fields, from
  the supervisor, netproc and a helper;
- the watchdog fires on a stopped supervisor (SIGSTOP) and the service is
  restarted;
- `systemctl stop` drains: deactivating while a connection is open, new
  connections refused, the open one served, stopped once it closes;
- tlsward.socket starts tlsward.service on the first connection and the
  service takes the named socket;
- tlsward@.service runs an instance with its control socket in its
  RuntimeDirectory;
- `systemd-analyze security` rates both units, as loaded, at 2.0 or less.

The namespaces keep that systemd off this machine's state: /run, /tmp and
/var/tmp are tmpfs of its own (its boot-time clean-up would empty /tmp),
/etc and /var are overlays whose writes go to its /run, cgroup2 is
mounted over /sys/fs/cgroup (the hybrid set-up would remount the
machine's cgroup tmpfs read-only), it lives in a child cgroup of this
test's, and units that change the kernel for everyone (sysctl, modules,
binfmt, the clock, swap, udev) are masked. The test checks that this
machine's mount table is unchanged afterwards. It powers the systemd off
(SIGKILL on timeout) whatever happens. Skipped (77) when it cannot run:
not root, or no unshare, nsenter or systemd."""
import atexit
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import logfmt
import tls_client
from harness import *

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNITS = os.path.join(SOURCE, "packaging", "systemd")
SYSTEMD = "/lib/systemd/systemd"
MAX_EXPOSURE = 2.0


def skip(why):
    log("skip: " + why)
    sys.exit(77)


if os.geteuid() != 0:
    skip("needs root (a systemd as PID 1 of its own namespaces)")
for tool in ("unshare", "nsenter"):
    if not shutil.which(tool):
        skip("no %s (package util-linux)" % tool)
if not os.access(SYSTEMD, os.X_OK):
    skip("no %s (package systemd)" % SYSTEMD)


def cgroup2_dir():
    """This process's cgroup in the cgroup2 hierarchy, or None."""
    mount = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split(" - ")
            if parts[1].split()[0] == "cgroup2":
                mount = parts[0].split()[4]
                break
    with open("/proc/self/cgroup") as f:
        path = next((l.strip()[3:] for l in f if l.startswith("0::")), None)
    if mount is None or path is None:
        return None
    return os.path.join(mount, path.lstrip("/"))


CGROUP_PARENT = cgroup2_dir()
if CGROUP_PARENT is None:
    skip("no cgroup2 hierarchy for systemd to run in")

# Masked in the namespace: what would change the kernel or devices for the
# whole machine, or write where the overlays do not reach.
MASKS = """systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service
systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
systemd-remount-fs.service systemd-pstore.service systemd-timesyncd.service
systemd-repart.service systemd-pcrphase.service systemd-pcrphase-sysinit.service
systemd-firstboot.service systemd-sysusers.service systemd-machine-id-commit.service
systemd-random-seed.service systemd-update-utmp.service systemd-hwdb-update.service
systemd-journal-catalog-update.service ldconfig.service systemd-update-done.service
systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer
systemd-journal-flush.service systemd-fsck-root.service systemd-quotacheck.service
systemd-boot-update.service systemd-udevd.service systemd-udev-trigger.service
systemd-udev-settle.service swap.target local-fs.target remote-fs.target cryptsetup.target
integritysetup.target veritysetup.target dev-hugepages.mount dev-mqueue.mount
sys-fs-fuse-connections.mount sys-kernel-config.mount sys-kernel-debug.mount
sys-kernel-tracing.mount systemd-networkd-wait-online.service
NetworkManager-wait-online.service""".split()

# $1: the test's folder, $2: the cgroup to run in. The inner shell is PID 1
# of the new namespaces until it becomes systemd. Its mounts are private to
# it (unshare's default), then shared among themselves, as systemd makes
# them when it boots a machine (in a container it leaves that to the
# container manager): credentials and PrivateTmp= are mounts made in a
# child namespace that must propagate back.
BOOT = r"""
set -e
mkdir "$2"
echo $$ > "$2/cgroup.procs"
exec unshare --pid --fork --kill-child --mount --mount-proc --uts --ipc --propagation private sh -c '
set -e
D=$1
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/.overlay/etc/upper /run/.overlay/etc/work /run/.overlay/var/upper /run/.overlay/var/work
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/.overlay/etc/upper,workdir=/run/.overlay/etc/work /etc
mount -t overlay overlay -o lowerdir=/var,upperdir=/run/.overlay/var/upper,workdir=/run/.overlay/var/work /var
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
mount --make-rshared /
mkdir -p /run/systemd/system /etc/tlsward
cp -r "$D"/units/. /run/systemd/system/
cp "$D"/etc/* /etc/tlsward/
for u in $(cat "$D"/masks); do ln -s /dev/null /run/systemd/system/$u; done
systemd-tmpfiles --create "$D"/tmpfiles.conf
exec env -i container=unshare %s --system --show-status=0 --unit=tlsward-test.target
' sh "$1"
""" % SYSTEMD

# One such systemd at a time on this machine (the normal and the sanitized
# build's test may run at once).
lock = open(os.path.join(tempfile.gettempdir(), "tlsward-systemd-real.lock"), "w")
fcntl.flock(lock, fcntl.LOCK_EX)

ensure_sandbox_users()
user = ensure_supervisor_user()
with open("/proc/self/mountinfo") as f:
    MOUNTS_BEFORE = sorted(l.split(" ", 4)[4] for l in f)

root = os.path.join(os.path.abspath(BUILD), "systemd-real-%d" % os.getpid())
os.mkdir(root, 0o755)
for sub in ("units", "etc"):
    os.mkdir(os.path.join(root, sub), 0o755)
cert, key = make_cert(root, "web")
os.chmod(cert, 0o644)
os.chmod(key, 0o600)  # root's: the service reads it only as a credential
key2 = os.path.join(root, "web2.key")
shutil.copy(key, key2)
os.chown(key2, user.pw_uid, user.pw_gid)

echo = Backend("echo")
PORT, SOCKET_PORT, PORT2 = free_port(), free_port(), free_port()
for unit in ("tlsward.service", "tlsward@.service", "tlsward.socket"):
    with open(os.path.join(UNITS, unit)) as f:
        text = f.read()
    text = text.replace("/usr/sbin/tlsward", os.path.abspath(TLSWARD))
    text = text.replace("ListenStream=443", "ListenStream=127.0.0.1:%d" % SOCKET_PORT)
    write_file(os.path.join(root, "units", unit), text)
write_file(os.path.join(root, "units", "tlsward-test.target"),
           "[Unit]\nDescription=tlsward test target\nWants=systemd-journald.service\n")
os.mkdir(os.path.join(root, "units", "tlsward.service.d"), 0o755)
write_file(os.path.join(root, "units", "tlsward.service.d", "credential.conf"),
           "[Service]\nLoadCredential=web.key:%s\n" % key)
if SANITIZED:
    # LeakSanitizer stops the world with ptrace, which the units' filter
    # (~@debug) denies: every exit would be its fatal error. Leaks are
    # test_leak_check's; AddressSanitizer and UBSan stay on.
    for unit in ("tlsward.service", "tlsward@.service"):
        os.makedirs(os.path.join(root, "units", unit + ".d"), 0o755, exist_ok=True)
        write_file(os.path.join(root, "units", unit + ".d", "sanitizer.conf"),
                   "[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n")
write_file(os.path.join(root, "masks"), "\n".join(MASKS) + "\n")
shutil.copy(os.path.join(SOURCE, "packaging", "tmpfiles.d", "tlsward.conf"),
            os.path.join(root, "tmpfiles.conf"))


def config(listen, key_spec, cert_path=cert):
    # JSON's string escapes are TOML's.
    return ("[global]\nhelpers = 1\ndrain_time = \"20s\"\n\n[[service]]\nname = \"web\"\n"
            "listen = %s\ntarget = %s\ncert = %s\nkey = %s\n"
            % tuple(json.dumps(v) for v in (listen, echo.address, cert_path, key_spec)))


write_file(os.path.join(root, "etc", "tlsward.toml"),
           config("127.0.0.1:%d" % PORT, "credential:web.key"))
write_file(os.path.join(root, "etc", "web2.toml"), config("127.0.0.1:%d" % PORT2, key2))



def remove_cgroup(top):
    for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(d)
        except OSError as e:
            log("cannot remove cgroup %s: %s" % (d, e))


# What a run that was killed (SIGKILL: no clean-up) left: empty cgroups and
# folders of processes that are gone.
for stale in os.listdir(CGROUP_PARENT):
    if stale.startswith("tlsward-systemd-") and not pid_alive(int(stale.rsplit("-", 1)[1])):
        remove_cgroup(os.path.join(CGROUP_PARENT, stale))
for stale in os.listdir(os.path.abspath(BUILD)):
    if stale.startswith("systemd-real-") and not pid_alive(int(stale.rsplit("-", 1)[1])):
        shutil.rmtree(os.path.join(os.path.abspath(BUILD), stale), ignore_errors=True)


def die_with_parent():
    # unshare goes when this test goes, and with --kill-child the whole
    # namespace goes with it: no systemd outlives a killed test.
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


cgroup = os.path.join(CGROUP_PARENT, "tlsward-systemd-%d" % os.getpid())
boot_log = open(os.path.join(root, "boot.log"), "w+")
boot = subprocess.Popen(["sh", "-c", BOOT, "sh", root, cgroup], stdout=boot_log,
                        stderr=subprocess.STDOUT, start_new_session=True,
                        preexec_fn=die_with_parent)
PID1 = None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def shutdown():
    """Powers the systemd off (SIGKILL after 60 s), removes its cgroups and
    the test's folder, and checks this machine's mounts are as they were."""
    if boot.poll() is None:
        if PID1 is not None:
            try:
                os.kill(PID1, signal.SIGRTMIN + 4)  # systemd: poweroff
            except ProcessLookupError:
                pass
        try:
            boot.wait(timeout=60)
        except subprocess.TimeoutExpired:
            log("the namespace's systemd did not power off in 60 s: killed")
            if PID1 is not None:
                os.kill(PID1, signal.SIGKILL)  # ends every process of the namespace
            boot.kill()
            boot.wait()
    remove_cgroup(cgroup)
    shutil.rmtree(root, ignore_errors=True)
    with open("/proc/self/mountinfo") as f:
        after = sorted(l.split(" ", 4)[4] for l in f)
    if after != MOUNTS_BEFORE:
        fail("this machine's mounts changed:\n%s" % "\n".join(
            sorted(set(after).symmetric_difference(MOUNTS_BEFORE))))


atexit.register(shutdown)

# PID 1 of the namespaces: unshare's child, once it runs systemd.
deadline = time.time() + 30
while time.time() < deadline and PID1 is None:
    for c in children(boot.pid):
        try:
            with open("/proc/%d/comm" % c) as f:
                if f.read().strip() == "systemd":
                    PID1 = c
        except OSError:
            pass
    if boot.poll() is not None:
        boot_log.seek(0)
        fail("the namespace did not boot: %s" % boot_log.read())
    time.sleep(0.1)
check(PID1 is not None, "no systemd in the namespace after 30 s")


def inside(*cmd, timeout=120):
    return subprocess.run(["nsenter", "-t", str(PID1), "-m", "-p", "-u", "-i", *cmd],
                          capture_output=True, text=True, timeout=timeout * SLOW)


def systemctl(*args, ok=True):
    r = inside("systemctl", "--no-pager", *args)
    if ok:
        check(r.returncode == 0, "systemctl %s: %d\n%s%s\n%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr, status_text()))
    return r


def show(unit, *props):
    r = inside("systemctl", "show", unit, "-p", ",".join(props))
    return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)


def status_text():
    r = inside("systemctl", "status", "--no-pager", "-n", "0", "tlsward.service",
               "tlsward.socket", "tlsward@web2.service")
    j = inside("journalctl", "--no-pager", "-n", "40", "-o", "short-monotonic")
    return r.stdout + r.stderr + j.stdout


def journal(unit):
    """The unit's journal records as {FIELD: str}; a field journalctl gives
    as bytes (an array of numbers) is decoded, one given several times is
    its last value."""
    r = inside("journalctl", "-u", unit, "-o", "json", "--no-pager")
    out = []
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        for k, v in rec.items():
            if isinstance(v, list) and v and isinstance(v[0], int):
                rec[k] = bytes(v).decode(errors="replace")
            elif isinstance(v, list):
                rec[k] = v[-1] if isinstance(v[-1], str) else bytes(v[-1]).decode(errors="replace")
        out.append(rec)
    return out


def wait_journal(unit, what, pred, timeout=20):
    return wait_until(lambda: next((r for r in journal(unit) if pred(r)), None), timeout * SLOW,
                      lambda: "no journal record of %s with %s:\n%s" % (unit, what, status_text()))


state = wait_until(lambda: (inside("systemctl", "is-system-running").stdout.strip()
                            in ("running", "degraded")) or None, 60 * SLOW,
                   lambda: "systemd did not finish booting: %s" % inside(
                       "systemctl", "--failed", "--no-pager").stdout)
with open("/proc/%d/mountinfo" % PID1) as f:
    ns_mounts = {l.split()[4]: l.split(" - ")[1].split()[0] for l in f}
for path, fstype in (("/tmp", "tmpfs"), ("/var/tmp", "tmpfs"), ("/run", "tmpfs"),
                     ("/etc", "overlay"), ("/var", "overlay")):
    check(ns_mounts.get(path) == fstype, "%s in the namespace is %s" % (path, ns_mounts.get(path)))
log("ok: systemd %s is PID 1 of its namespaces (host pid %d), %s; /run /tmp /var/tmp private"
    % (inside("systemctl", "--version").stdout.split()[1], PID1,
       inside("systemctl", "is-system-running").stdout.strip()))

ctx = tls_client.context(cafile=cert)


def echo_ok(port, payload=b"through the unit\n"):
    try:
        return tls_client.echo_round_trip(port, payload, ctx=ctx, timeout=10 * SLOW) == payload
    except OSError:
        return False


# Start: Type=notify, so systemctl start returns once tlsward said READY=1.
systemctl("start", "tlsward.service")
s = show("tlsward.service", "ActiveState", "SubState", "MainPID")
check(s["ActiveState"] == "active" and s["SubState"] == "running", "after start: %s" % s)
# STATUS= follows with the supervisor's next tick.
s["StatusText"] = wait_until(
    lambda: (lambda t: t if t.startswith("running: ") else None)(
        show("tlsward.service", "StatusText")["StatusText"]), 10 * SLOW, "no STATUS= line")
check(echo_ok(PORT), "no echo through tlsward.service:\n" + status_text())
log("ok: tlsward.service started (Type=notify): %s" % s["StatusText"])

status = inside("cat", "/proc/%s/status" % s["MainPID"]).stdout
fields = dict(re.findall(r"^(\w+):\s*(.*)$", status, re.M))
caps = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10)  # KILL SETGID SETUID NET_BIND_SERVICE
check(fields["Uid"].split()[0] == str(user.pw_uid), "supervisor uid: %s" % fields["Uid"])
check(int(fields["CapBnd"], 16) & ~caps == 0, "bounding set %s" % fields["CapBnd"])
check(fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2",
      "no_new_privs %s, seccomp %s" % (fields["NoNewPrivs"], fields["Seccomp"]))
log("ok: the supervisor runs as %s, bounding set %s, no_new_privs, seccomp filter"
    % (user.pw_name, fields["CapBnd"]))

# The journal: every process's lines, their pairs as fields.
close = wait_journal("tlsward.service", "EVENT=close",
                     lambda r: r.get("EVENT") == "close" and r.get("ROLE") == "netproc")
for k in ("SERVICE", "PEER", "VERSION", "SUITE", "BYTES_IN", "BYTES_OUT", "REASON"):
    check(k in close, "the close record lacks %s: %s" % (k, close))
check(close["SERVICE"] == "web" and close["SYSLOG_IDENTIFIER"] == "tlsward" and
      close["_SYSTEMD_UNIT"] == "tlsward.service", "close record: %s" % close)
records = journal("tlsward.service")
roles = {r.get("ROLE") for r in records if "EVENT" in r}
check({"supervisor", "netproc", "crypto[0]"} <= roles, "records only from %s" % roles)
for r in records:
    if "ROLE" in r:
        logfmt.parse(r["MESSAGE"][len(r["ROLE"]) + 2:])
log("ok: journalctl -o json: fields from %s; close: PEER=%s BYTES_IN=%s REASON=%s"
    % (sorted(roles), close["PEER"], close["BYTES_IN"], close["REASON"]))

# systemctl reload: the open connection and new ones all go through.
held = tls_client.connect(PORT, ctx, timeout=10 * SLOW)
held.sendall(b"before ")
check(held.recv(7) == b"before ", "held connection before the reload")
results = []
stop = threading.Event()


def connect_loop():
    while not stop.is_set():
        results.append(echo_ok(PORT))


loop = threading.Thread(target=connect_loop)
loop.start()
time.sleep(0.5)
t0 = time.time()
systemctl("reload", "tlsward.service")
took = time.time() - t0
time.sleep(0.5)
stop.set()
loop.join()
held.sendall(b"after")
check(held.recv(5) == b"after", "the held connection broke across the reload")
held.close()
check(results and all(results), "%d of %d connections failed during the reload"
      % (results.count(False), len(results)))
# STATUS= is rewritten once a second: the new generation shows by then.
s = wait_until(lambda: (lambda s: s if "generation 2" in s["StatusText"] else None)(
    show("tlsward.service", "StatusText", "NRestarts", "ActiveState")), 10 * SLOW,
    lambda: "STATUS= after the reload: %s" % show("tlsward.service", "StatusText"))
check(s["NRestarts"] == "0" and s["ActiveState"] == "active", "after reload: %s" % s)
wait_journal("tlsward.service", "EVENT=reloaded",
             lambda r: r.get("EVENT") == "reloaded" and r.get("GENERATION") == "2")
log("ok: systemctl reload in %.1fs, %d connections during it, none failed, the held one "
    "kept; %s" % (took, len(results), s["StatusText"]))

# The real journald keeps a value with a newline (here a certificate path
# in a configuration a reload refuses) as its exact bytes.
bad_path = os.path.join(root, 'we"ird\nname.crt')
write_file(os.path.join(root, "bad.toml"),
           config("127.0.0.1:%d" % PORT, "credential:web.key", bad_path))
inside("sh", "-c", "cp /etc/tlsward/tlsward.toml /etc/tlsward/good.toml && "
       "cp %s/bad.toml /etc/tlsward/tlsward.toml" % root)
check(systemctl("reload", "tlsward.service", ok=False).returncode != 0,
      "a reload with a missing certificate succeeded")
failed = wait_journal("tlsward.service", "EVENT=reload_failed",
                      lambda r: r.get("EVENT") == "reload_failed")
check(bad_path in failed["REASON"], "REASON %r lacks %r" % (failed["REASON"], bad_path))
logfmt.parse(failed["MESSAGE"][len("supervisor: "):])
inside("mv", "/etc/tlsward/good.toml", "/etc/tlsward/tlsward.toml")
log("ok: a refused reload's REASON holds the path's quote and newline as they are")

# The watchdog, shortened by a drop-in: a stopped supervisor is restarted.
inside("sh", "-c", "printf '[Service]\\nWatchdogSec=3s\\n' > "
       "/run/systemd/system/tlsward.service.d/watchdog.conf")
systemctl("daemon-reload")
systemctl("restart", "tlsward.service")
before = show("tlsward.service", "MainPID", "NRestarts", "WatchdogUSec")
check(before["WatchdogUSec"] == "3s", "the drop-in did not apply: %s" % before)
inside("sh", "-c", "kill -STOP " + before["MainPID"])
t0 = time.time()
after = wait_until(lambda: (lambda s: s if s["NRestarts"] != before["NRestarts"] and
                            s["ActiveState"] == "active" and s["SubState"] == "running" else None)(
    show("tlsward.service", "MainPID", "NRestarts", "ActiveState", "SubState")), 30 * SLOW,
    lambda: "no restart after the watchdog:\n" + status_text())
check(after["MainPID"] != before["MainPID"], "the same supervisor: %s" % after)
text = inside("journalctl", "-u", "tlsward.service", "--no-pager").stdout
check("Watchdog timeout" in text, "systemd did not log the watchdog:\n" + text[-2000:])
check(echo_ok(PORT), "no echo after the watchdog restart")
log("ok: watchdog: supervisor %s stopped, restarted as %s in %.1fs"
    % (before["MainPID"], after["MainPID"], time.time() - t0))
inside("rm", "/run/systemd/system/tlsward.service.d/watchdog.conf")
systemctl("daemon-reload")
systemctl("restart", "tlsward.service")

# systemctl stop drains: the open connection is served, new ones refused.
held = tls_client.connect(PORT, ctx, timeout=10 * SLOW)
held.sendall(b"one")
check(held.recv(3) == b"one", "held connection before the stop")
systemctl("--no-block", "stop", "tlsward.service")
wait_until(lambda: show("tlsward.service", "ActiveState")["ActiveState"] == "deactivating",
           10 * SLOW, "not deactivating while a connection is open")
time.sleep(0.5)
check(not echo_ok(PORT), "a new connection was served while draining")
held.sendall(b"two")
check(held.recv(3) == b"two", "the open connection was not served while draining")
check(show("tlsward.service", "ActiveState")["ActiveState"] == "deactivating",
      "stopped with a connection open")
t0 = time.time()
held.close()
wait_until(lambda: show("tlsward.service", "ActiveState")["ActiveState"] == "inactive",
           15 * SLOW, "not stopped after the last connection closed")
s = show("tlsward.service", "Result", "ExecMainStatus")
check(s["Result"] == "success" and s["ExecMainStatus"] == "0", "stop: %s" % s)
log("ok: systemctl stop drained: deactivating with a connection open, new ones refused, "
    "stopped %.1fs after it closed (exit 0)" % (time.time() - t0))

# Socket activation: the first connection starts tlsward.service, which
# takes the socket named web.
systemctl("start", "tlsward.socket")
check(show("tlsward.service", "ActiveState")["ActiveState"] == "inactive", "started early")
check(echo_ok(SOCKET_PORT), "no echo through the socket-activated service:\n" + status_text())
check(show("tlsward.service", "ActiveState")["ActiveState"] == "active", "not activated")
wait_journal("tlsward.service", "from=systemd:web",
             lambda r: r.get("EVENT") == "listening" and r.get("FROM") == "systemd:web")
log("ok: tlsward.socket activated tlsward.service on the first connection (from=systemd:web)")

# tlsward@web2: its own configuration and control socket.
systemctl("start", "tlsward@web2.service")
check(echo_ok(PORT2), "no echo through tlsward@web2:\n" + status_text())
r = inside(os.path.abspath(TLSWARD), "status", "--control", "/run/tlsward/web2/control")
check(r.returncode == 0 and "generation" in r.stdout, "tlsward status of web2: %s%s"
      % (r.stdout, r.stderr))
log("ok: tlsward@web2 serves; its control socket is /run/tlsward/web2/control")

for unit in ("tlsward.service", "tlsward@web2.service"):
    r = inside("systemd-analyze", "security", "--no-pager", unit)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
    check(m is not None, "systemd-analyze security %s:\n%s%s" % (unit, r.stdout, r.stderr))
    check(float(m.group(1)) <= MAX_EXPOSURE, "%s: exposure %s > %.1f:\n%s"
          % (unit, m.group(1), MAX_EXPOSURE, r.stdout))
    log("ok: systemd-analyze security %s (loaded): %s" % (unit, m.group(1)))

systemctl("stop", "tlsward@web2.service", "tlsward.socket", "tlsward.service")
failed = inside("systemctl", "--failed", "--no-legend", "--no-pager").stdout
check("tlsward" not in failed, "failed units: %s" % failed)
shutdown()
atexit.unregister(shutdown)
check(not os.path.exists(cgroup), "the namespace's cgroup is left: %s" % cgroup)
log("ok: the namespace's systemd powered off, its cgroup and files removed, this machine's "
    "mounts unchanged")
echo.stop()
