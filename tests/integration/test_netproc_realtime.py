"""netproc_realtime_priority: netproc runs SCHED_RR at that priority, the
helpers stay normal processes, a reload changes it both ways, and without
the right to do it netproc runs on as a normal process and one line says why.

As root: off by default; 1 makes netproc SCHED_RR 1 (with
SCHED_RESET_ON_FORK) and no helper real-time; a reload to 0 makes netproc a
normal process again at its nice value, a reload to 3 makes it SCHED_RR 3.
As the packaged unit runs it (user tlsward-supervisor, the unit's
capabilities, no CAP_SYS_NICE): without RLIMIT_RTPRIO,
event=realtime_unavailable names what is missing, and traffic flows; with
RLIMIT_RTPRIO 1 (LimitRTPRIO=1, where the test may raise it) netproc gets
SCHED_RR 1."""
import os
import subprocess

from harness import *
import tls_client

if os.geteuid() != 0:
    log("skip: needs root (users, real-time priorities)")
    raise SystemExit(0)

SCHED_OTHER, SCHED_RR = 0, 2


def sched_of(pid):
    """(policy, rt_priority, nice) from /proc/PID/stat (fields 41, 40, 19)."""
    rest = proc_stat(pid)
    return int(rest[38]), int(rest[37]), int(rest[16])


def by_role(tw):
    """{"netproc": [(policy, priority, nice)], "crypto": [...]} of the children."""
    out = {"netproc": [], "crypto": []}
    for pid, title in tw.children().items():
        try:
            out["netproc" if "netproc" in title else "crypto"].append(sched_of(pid))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return out


def check_sched(tw, netproc, helpers=2, what=""):
    """Waits until netproc has (policy, priority, nice) `netproc` and every
    one of `helpers` helpers is a normal process."""
    def ok():
        g = by_role(tw)
        got = [n if netproc[2] is not None else n[:2] + (None,) for n in g["netproc"]]
        return (got == [netproc] and len(g["crypto"]) == helpers and
                all(p == SCHED_OTHER and prio == 0 for p, prio, _ in g["crypto"]))
    wait_until(ok, 5 * SLOW, lambda: "%s: want netproc %r and %d normal helpers, got %r"
               % (what, netproc, helpers, by_role(tw)))


def write_config(path, port, backend, cert, key, extra=""):
    write_file(path, service_config(backend.address, helpers=2, listen="127.0.0.1:%d" % port,
                                    cert=cert, key=key, global_extra=extra))


tmp = TempDir()
os.chmod(tmp.path, 0o755)
backend = Backend("echo")
cert, key = make_cert(tmp.path)
config = tmp.file("tlsward.toml")
control = tmp.file("control")

# --- As root ----------------------------------------------------------------
port = free_port()
write_config(config, port, backend, cert, key)
tw = Tlsward(["run", "--config", config, "--control", control])
check(tls_client.echo_round_trip(port), "no echo")
check_sched(tw, (SCHED_OTHER, 0, -5), what="by default")
write_config(config, port, backend, cert, key, "netproc_realtime_priority = 1")
reload_ok(control)
check_sched(tw, (SCHED_RR, 1, -5), what="after a reload to 1")
check(tls_client.echo_round_trip(port), "no echo with netproc real-time")
write_config(config, port, backend, cert, key, "netproc_realtime_priority = 0")
reload_ok(control)
check_sched(tw, (SCHED_OTHER, 0, -5), what="after a reload to 0")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

write_config(config, port, backend, cert, key, "netproc_realtime_priority = 1")
tw = Tlsward(["run", "--config", config, "--control", control])
check_sched(tw, (SCHED_RR, 1, -5), what="started with 1")
write_config(config, port, backend, cert, key, "netproc_realtime_priority = 3")
reload_ok(control)
check_sched(tw, (SCHED_RR, 3, -5), what="after a reload to 3")
check(tls_client.echo_round_trip(port), "no echo after the reloads")
check(tw.count(r"event=realtime_unavailable") == 0, "refused as root:\n" + tw.log_text())
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
log("ok: as root netproc is SCHED_RR 1 when asked, 3 after a reload, a normal process at "
    "nice -5 for 0 (the default); the helpers never real-time")

# --- As the packaged unit runs it ---------------------------------------------
unit_cert, unit_key, rundir = unit_files(tmp, cert, key)


def as_unit(wrapper):
    return run_as_unit(config, rundir, wrapper, lambda path, port: write_config(
        path, port, backend, unit_cert, unit_key, "netproc_realtime_priority = 1"))


# Lowering a limit needs nothing; netproc's nice value is not checked here
# (without the unit's LimitNICE it may stay 0: test_scheduling_groups).
tw = as_unit(["prlimit", "--rtprio=0:0"] + unit_like(UNIT_CAPS))
tw.wait_for(r"netproc\[\d+\]: event=realtime_unavailable priority=1 .*RLIMIT_RTPRIO")
check_sched(tw, (SCHED_OTHER, 0, None), what="as the unit without RLIMIT_RTPRIO")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
log("ok: as %s without CAP_SYS_NICE or RLIMIT_RTPRIO netproc stays a normal process, "
    "serves, and the log says why" % SUPERVISOR_USER)

# Raising the hard limit needs CAP_SYS_RESOURCE, which some containers' root lacks.
if subprocess.run(["prlimit", "--rtprio=1:1", "true"], capture_output=True).returncode == 0:
    tw = as_unit(["prlimit", "--rtprio=1:1"] + unit_like(UNIT_CAPS))
    check_sched(tw, (SCHED_RR, 1, None), what="as the unit with RLIMIT_RTPRIO 1")
    check(tw.count(r"event=realtime_unavailable") == 0, "refused:\n" + tw.log_text())
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
    log("ok: as %s with RLIMIT_RTPRIO 1 (LimitRTPRIO=1): netproc SCHED_RR 1" % SUPERVISOR_USER)
else:
    log("note: prlimit cannot raise RLIMIT_RTPRIO here (no CAP_SYS_RESOURCE); "
        "the LimitRTPRIO case is not run")
tmp.cleanup()
