"""Each child runs in an autogroup of its own with its nice value.

With autogroups on (the kernel's default; every systemd service is a session,
so an autogroup, of its own) the scheduler shares the CPU between autogroups
first, and a nice value only ranks a process against the others in its
autogroup. So the supervisor starts every child in a session of its own and
gives that autogroup the child's nice value: netproc's netproc_nice (-5)
and the helpers' helper_nice (+10) then weigh against every other program,
not only against each other.

As root: netproc's autogroup has nice -5, each helper's +10, all distinct
from the supervisor's; a reload applies new values (netproc's at once, the
helpers' through the new helpers). As the packaged unit runs it (user
tlsward-supervisor, the unit's capabilities, no CAP_SYS_ADMIN, so the kernel
takes one autogroup change per 100 ms): with the unit's LimitNICE=25
(where the test may raise RLIMIT_NICE) or CAP_SYS_NICE, all four children
get their values (the helpers wait their turn); without either netproc
keeps 0 and one info line says why."""
import os
import subprocess

from harness import *
import tls_client


if not os.path.exists("/proc/self/autogroup"):
    log("skip: this kernel has no autogroups (CONFIG_SCHED_AUTOGROUP)")
    raise SystemExit(0)
if os.geteuid() != 0:
    log("skip: needs root (users, nice values below 0)")
    raise SystemExit(0)


def autogroup(pid):
    """(group id, nice) from /proc/PID/autogroup ("/autogroup-42 nice 10"), or
    None when the file is empty: the process is in no autogroup (the root
    task group), as PID 1 is and anything started from it without a new
    session, which is how a CI runner may start the test and so the
    supervisor. Its children still make sessions, so autogroups, of their own."""
    with open("/proc/%d/autogroup" % pid) as f:
        text = f.read().split()
    if not text:
        return None
    return int(text[0].rsplit("-", 1)[1]), int(text[2])


def task_nice(pid):
    return int(proc_stat(pid)[16])


def groups_of(tw):
    """{title: (pid, autogroup id, autogroup nice, process nice)} of the children."""
    out = {}
    for pid, title in tw.children().items():
        try:
            group, nice = autogroup(pid)
            out[title] = (pid, group, nice, task_nice(pid))
        except (OSError, ValueError, IndexError, TypeError):
            continue  # gone, or not in its own session yet
    return out


def check_groups(tw, netproc_nice, helper_nice, helpers):
    """Every child in its own autogroup, none in the supervisor's, with the
    nice values asked for (autogroup and process). Children started together
    set their autogroups' values in turn (one per 100 ms without
    CAP_SYS_ADMIN), and a reload's new helpers replace the old ones: wait."""
    sup = autogroup(tw.proc.pid)
    sup_group = sup[0] if sup else None

    def wanted(t):
        return netproc_nice if "netproc" in t else helper_nice

    def settled():
        g = groups_of(tw)
        if len(g) != helpers + 1:
            return None
        return g if all(v[2] == wanted(t) for t, v in g.items()) else None

    g = wait_until(settled, 5 * SLOW, lambda: "%d children with autogroup nice %d (netproc "
                   "%d), got %r" % (helpers + 1, helper_nice, netproc_nice, groups_of(tw)))
    ids = [v[1] for v in g.values()]
    check(sup_group not in ids, "a child shares the supervisor's autogroup %s: %r"
          % (sup_group, g))
    check(len(set(ids)) == len(ids), "children share autogroups: %r" % g)
    for title, (pid, group, nice, pnice) in g.items():
        check(nice == wanted(title), "%s: autogroup nice %d, want %d" % (title, nice,
                                                                          wanted(title)))
        check(pnice == wanted(title), "%s: nice %d, want %d" % (title, pnice, wanted(title)))
    return g


def write_config(path, port, backend, cert, key, extra=""):
    write_file(path, service_config(backend.address, helpers=3, listen="127.0.0.1:%d" % port,
                                    cert=cert, key=key, global_extra=extra))


tmp = TempDir()
os.chmod(tmp.path, 0o755)
backend = Backend("echo")
cert, key = make_cert(tmp.path)
config = tmp.file("tlsward.toml")

# --- As root --------------------------------------------------------------
port = free_port()
write_config(config, port, backend, cert, key)
tw = Tlsward(["run", "--config", config, "--control", tmp.file("control")])
check_groups(tw, -5, 10, 3)
check(tls_client.echo_round_trip(port), "no echo")
write_config(config, port, backend, cert, key, "netproc_nice = -2\nhelper_nice = 4")
reload_ok(tmp.file("control"))
# The old helpers retire; check_groups waits for the new ones' values.
check_groups(tw, -2, 4, 3)
check(tls_client.echo_round_trip(port), "no echo after the reload")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
log("ok: as root each child has its own autogroup (netproc -5, helpers +10); "
    "a reload makes them -2 and +4")

# --- As the packaged unit runs it -------------------------------------------
unit_cert, unit_key, rundir = unit_files(tmp, cert, key)

def as_unit(wrapper):
    return run_as_unit(config, rundir, wrapper, lambda path, port: write_config(
        path, port, backend, unit_cert, unit_key))


def may_lower_nice(how, wrapper):
    tw = as_unit(wrapper)
    check_groups(tw, -5, 10, 3)
    check(tw.count(r"event=autogroup_nice_unavailable") == 0,
          "an autogroup value was refused:\n%s" % tw.log_text())
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
    log("ok: as %s with %s: netproc -5 and three helpers +10 (the kernel took one "
        "autogroup change per 100 ms)" % (SUPERVISOR_USER, how))


# The packaged unit's LimitNICE=25 (RLIMIT_NICE: nice values down to -5). Raising
# the hard limit needs CAP_SYS_RESOURCE, which some containers' root lacks.
if subprocess.run(["prlimit", "--nice=25:25", "true"], capture_output=True).returncode == 0:
    may_lower_nice("RLIMIT_NICE 25", ["prlimit", "--nice=25:25"] + unit_like(UNIT_CAPS))
else:
    log("note: prlimit cannot raise RLIMIT_NICE here (no CAP_SYS_RESOURCE); "
        "the LimitNICE case is not run")
may_lower_nice("CAP_SYS_NICE", unit_like(UNIT_CAPS + ["sys_nice"]))

tw = as_unit(unit_like(UNIT_CAPS))
tw.wait_for(r"netproc\[\d+\]: event=autogroup_nice_unavailable nice=-5 .*CAP_SYS_NICE")
check_groups(tw, 0, 10, 3)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
log("ok: without either netproc's autogroup keeps 0 and the log says why")
backend.stop()
tmp.cleanup()
