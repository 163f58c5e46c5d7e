"""The supervisor keeps only what restarts and reloads need once it runs.
As root: its capabilities (and bounding set) shrink to CAP_KILL, CAP_SETGID,
CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_SYS_NICE, the children
have none, and a reload (new helpers) still works. As tlsward.service runs
it (setpriv: user tlsward-supervisor, the unit's four ambient capabilities,
no_new_privs, keys as credentials): it binds a port below 1024, its
children become tlsward and tlsward-crypto with no capability left (not
chrooted: no CAP_SYS_CHROOT, and the log says so), and reloads work."""
import os
import pwd
import re
import shutil
import socket

from harness import *
import tls_client

CAP = {"kill": 5, "setgid": 6, "setuid": 7, "net_bind_service": 10, "sys_chroot": 18,
       "sys_nice": 23}


def mask(names):
    return sum(1 << CAP[n] for n in names)


def status_field(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1:]
    fail("no %s in /proc/%d/status" % (field, pid))


def caps(pid, field):
    return int(status_field(pid, field)[0], 16)


def check_children(tw, want_uids):
    kids = tw.children()
    check(len(kids) >= 2, "children: %r" % kids)
    for pid, title in kids.items():
        check(caps(pid, "CapEff") == 0 and caps(pid, "CapPrm") == 0,
              "%s keeps capabilities: CapPrm %x" % (title, caps(pid, "CapPrm")))
        if want_uids:
            uid = int(status_field(pid, "Uid")[0])
            want = want_uids["netproc" if "netproc" in title else "crypto"]
            check(uid == want, "%s runs as uid %d, not %d" % (title, uid, want))


if os.geteuid() != 0:
    log("skip: needs root (capabilities and users)")
    raise SystemExit(0)

tmp = TempDir()
os.chmod(tmp.path, 0o755)
backend = Backend("echo")
cert, key = make_cert(tmp.path)

# --- As root ------------------------------------------------------------
tw = Tlsward(server_args(backend, cert, key, "--control", tmp.file("root-control")))
kept = ["kill", "setgid", "setuid", "net_bind_service", "sys_chroot", "sys_nice"]
tw.wait_for(r"event=privileges_dropped uid=0 kept=" + ",".join("cap_" + k for k in kept))
sup = tw.proc.pid
check(caps(sup, "CapEff") == mask(kept), "root supervisor CapEff %x" % caps(sup, "CapEff"))
check(caps(sup, "CapBnd") == mask(kept), "root supervisor CapBnd %x" % caps(sup, "CapBnd"))
check_children(tw, {"netproc": pwd.getpwnam("tlsward").pw_uid,
                    "crypto": pwd.getpwnam("tlsward-crypto").pw_uid})
r = cli("reload", "--control", tmp.file("root-control"))
check(r.returncode == 0, "reload after the drop failed: %s %s" % (r.stdout, r.stderr))
check(tls_client.echo_round_trip(tw.port), "no echo after a reload")
check_children(tw, None)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
log("ok: root keeps %s; children have none; reload works" % ",".join(kept))

# --- The way tlsward.service runs it --------------------------------------
sup_user = ensure_supervisor_user()
creds = os.path.join(tmp.path, "credentials")
os.mkdir(creds, 0o500)
for src, name in ((cert, "web.crt"), (key, "web.key")):
    shutil.copy(src, os.path.join(creds, name))
    os.chmod(os.path.join(creds, name), 0o400)
    os.chown(os.path.join(creds, name), sup_user.pw_uid, sup_user.pw_gid)
os.chown(creds, sup_user.pw_uid, sup_user.pw_gid)
rundir = os.path.join(tmp.path, "run")
os.mkdir(rundir, 0o755)
os.chown(rundir, sup_user.pw_uid, sup_user.pw_gid)


def low_port():
    for port in range(600, 1000, 7):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    fail("no free port below 1024")


port = low_port()
config = tmp.file("tlsward.toml")
write_file(config, service_config(backend.address, helpers=2, listen="127.0.0.1:%d" % port,
                                  cert="credential:web.crt", key="credential:web.key"))

control = os.path.join(rundir, "control")
tw = Tlsward(["run", "--config", config, "--control", control], wrapper=unit_like(),
             env={"CREDENTIALS_DIRECTORY": creds})
tw.wait_for(r"event=privileges_dropped uid=%d kept=cap_kill,cap_setgid,cap_setuid,"
            r"cap_net_bind_service inherited=cap_setgid,cap_setuid " % sup_user.pw_uid)
tw.wait_for(r"event=sandbox_note note=.netproc and the helpers are not chrooted: no CAP_SYS_CHROOT")
tw.wait_for(r"event=sandboxed process=crypto uid=\d+ gid=\d+ chroot=none", count=2)
check(tw.port == port, "listening on %d, not %d" % (tw.port, port))
sup = tw.proc.pid
check(int(status_field(sup, "Uid")[0]) == sup_user.pw_uid, "supervisor uid")
check(caps(sup, "CapEff") == mask(UNIT_CAPS), "supervisor CapEff %x" % caps(sup, "CapEff"))
check(caps(sup, "CapAmb") == mask(["setuid", "setgid"]),
      "supervisor CapAmb %x" % caps(sup, "CapAmb"))
check_children(tw, {"netproc": pwd.getpwnam("tlsward").pw_uid,
                    "crypto": pwd.getpwnam("tlsward-crypto").pw_uid})
check(tls_client.echo_round_trip(port), "no echo on port %d" % port)
r = cli("reload", "--control", control)
check(r.returncode == 0, "reload failed: %s %s" % (r.stdout, r.stderr))
check(tls_client.echo_round_trip(port), "no echo after a reload")
check_children(tw, None)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
log("ok: as %s with the unit's capabilities: port %d, children without capabilities, reload"
    % (SUPERVISOR_USER, port))
backend.stop()
tmp.cleanup()
