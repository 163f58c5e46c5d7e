"""tlsward under a NOTIFY_SOCKET of the test's own, with a watchdog:
READY=1 once every child is up, STATUS= with live counts, WATCHDOG=1 only
while netproc answers and every helper is alive, RELOADING=1 then READY=1
around a reload, STOPPING=1 on SIGTERM."""
import os
import signal
import time

import tls_client
from harness import *
from systemd_notify import NotifySocket

WATCHDOG_S = 0.8 * SLOW
tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
notify = NotifySocket(tmp.file("notify"))
env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6))}
# WATCHDOG_PID must be tlsward's own pid: set it in a shell that then execs it.
wrapper = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"']
tw = Tlsward(server_args(backend, cert, key, "--control", tmp.file("control"), helpers=2),
             env=env, wrapper=wrapper)

ready = notify.wait("READY", "1", timeout=5)
check(ready is not None, "no READY=1")
log("ok: READY=1")
check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n", "no echo")
held = tls_client.connect(tw.port)
status = None
deadline = time.time() + 5 * SLOW
while time.time() < deadline:
    m = notify.wait("STATUS", timeout=1, after=time.time() - 1.1)
    if m and "1 connections" in m[1]["STATUS"]:
        status = m[1]["STATUS"]
        break
check(status is not None, "no STATUS= with the open connection: %s" % notify.messages[-3:])
check("handshakes/s" in status and "helpers 2/2" in status, "STATUS= lacks counts: %s" % status)
log("ok: STATUS=%s" % status)
held.close()

# The watchdog is fed regularly while all is well.
t0 = time.time()
time.sleep(3 * WATCHDOG_S)
pings = notify.times("WATCHDOG", since=t0)
gaps = [b - a for a, b in zip(pings, pings[1:])]
check(len(pings) >= 3 and max(gaps) < WATCHDOG_S / 2,
      "WATCHDOG=1 not regular: %d pings, gaps %s" % (len(pings), gaps[:10]))
log("ok: WATCHDOG=1 every %.2fs (watchdog %.1fs)" % (sum(gaps) / len(gaps), WATCHDOG_S))

# netproc's loop stops answering: no more WATCHDOG=1 until it does again.
np = tw.child_pid("tlsward: netproc")
os.kill(np, signal.SIGSTOP)
stopped = time.time()
time.sleep(2 * WATCHDOG_S)
late = notify.times("WATCHDOG", since=stopped + WATCHDOG_S / 2, until=time.time())
os.kill(np, signal.SIGCONT)
resumed = time.time()
check(not late, "WATCHDOG=1 while netproc was stopped (%d)" % len(late))
check(notify.wait("WATCHDOG", timeout=2 * WATCHDOG_S, after=resumed) is not None,
      "WATCHDOG=1 did not resume")
log("ok: no WATCHDOG=1 while netproc was stopped; resumed after SIGCONT")

# A dead helper: a gap until its replacement is ready, then pings again.
mark = tw.mark()
killed = time.time()
os.kill(tw.child_pid("tlsward: crypto[1]"), signal.SIGKILL)
tw.wait_for(r"event=child_ready process=crypto\[1\]", timeout=3 * SLOW, start=mark)
back = notify.wait("WATCHDOG", timeout=2 * WATCHDOG_S, after=time.time())
check(back is not None, "WATCHDOG=1 did not resume after the helper restart")
log("ok: WATCHDOG=1 resumed %.2fs after a helper was killed" % (back[0] - killed))

# SIGHUP: RELOADING=1, then READY=1 once the new generation serves.
mark = tw.mark()
t0 = time.time()
os.kill(tw.proc.pid, signal.SIGHUP)
rel = notify.wait("RELOADING", "1", timeout=5, after=t0)
check(rel is not None and "MONOTONIC_USEC" in rel[1], "no RELOADING=1 with MONOTONIC_USEC")
tw.wait_for(r"event=reloaded generation=2", timeout=10 * SLOW, start=mark)
rdy = notify.wait("READY", "1", timeout=5, after=rel[0])
check(rdy is not None, "no READY=1 after the reload")
log("ok: RELOADING=1 then READY=1 around a reload (%.2fs)" % (rdy[0] - rel[0]))

t0 = time.time()
check(tw.stop() == 0, "tlsward did not exit 0")
check(notify.wait("STOPPING", "1", timeout=1, after=t0) is not None, "no STOPPING=1")
log("ok: STOPPING=1 on SIGTERM")
for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "protocol_violation"):
    check(bad not in "\n".join(tw.lines), "log shows %r:\n%s" % (bad, tw.log_text()))
notify.close()
backend.stop()
tmp.cleanup()
