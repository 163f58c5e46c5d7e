"""Soak: tlsward-bench soak (handshake churn plus bulk transfers both ways)
for TLSWARD_SOAK_SECONDS (15 s here, 8 s in the sanitizer build; the
10-minute soak of docs/testing.md is this test with 600). Each process's
fds and RSS are read at the start (after a warm-up that fills the
allocator's and the buffer pool's steady state) and at the end, once the
load has stopped and settled: fds must be back exactly where they were,
RSS within noise (release build: 4 MiB or 10%, whichever is more; under
ASan the quarantine holds freed memory on purpose, so RSS is reported and
LeakSanitizer judges leaks). No process may restart, no handshake or
transfer may fail."""
import json

from bench_backend import BenchBackend, bench
from harness import *
from load import rss_kib

SECONDS = float(os.environ.get("TLSWARD_SOAK_SECONDS", 8 if SANITIZED else 15))

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = BenchBackend()
tw = Tlsward(server_args(backend, cert, key, "--control", tmp.file("ctl.sock")))
server = "127.0.0.1:%d" % tw.port
can_read_fds = os.geteuid() == 0  # the children are not dumpable


def snapshot():
    out = {}
    for pid, title in tw.children().items():
        out[title] = {"pid": pid, "rss": rss_kib(pid),
                      "fds": len(os.listdir("/proc/%d/fd" % pid)) if can_read_fds else None}
    out["supervisor"] = {"pid": tw.proc.pid, "rss": rss_kib(tw.proc.pid),
                         "fds": len(os.listdir("/proc/%d/fd" % tw.proc.pid))}
    return out


def soak(seconds):
    return bench("soak", server, "--duration", str(seconds), "--concurrency", "8",
                 "--connections", "2", "--settle", "1", "--pid-of-supervisor",
                 str(tw.proc.pid), timeout=seconds + 120)


soak(3)  # warm-up
start = snapshot()
r = soak(SECONDS)
end = snapshot()
# Connections of the soak may still be closing when settle ends.
if can_read_fds:
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline and any(end[t]["fds"] != start[t]["fds"] for t in start
                                         if t in end):
        time.sleep(0.2)
        end = snapshot()

log("soak %.0f s: %d handshakes (%.0f/s, %d failed), %.0f MB/s bulk over %d connections "
    "(%d failed)" % (SECONDS, r["handshakes"], r["handshakes_per_s"], r["handshakes_failed"],
                     r["bulk_MBps"], r["bulk_connections"], r["bulk_failed"]))
for title in sorted(start):
    s, e = start[title], end.get(title)
    check(e is not None and e["pid"] == s["pid"], "%s restarted or vanished during the soak"
          % title)
    log("%-22s fds %s -> %s, RSS %d -> %d KiB (%+d)" % (title, s["fds"], e["fds"], s["rss"],
                                                        e["rss"], e["rss"] - s["rss"]))
check(r["handshakes"] > 0 and r["bulk_connections"] > 0, "no load ran: %s" % json.dumps(r))
# tlsward-bench reports the same per process (keys COMM_PID_...).
net = "tlsward-net_%d" % start["tlsward: netproc"]["pid"]
check(net + "_rss_end_kib" in r, "tlsward-bench soak has no per-process figures: %s"
      % sorted(r))
log("tlsward-bench soak says netproc: RSS %d -> %d KiB, fds %s -> %s"
    % (r[net + "_rss_start_kib"], r[net + "_rss_end_kib"], r.get(net + "_fds_start"),
       r.get(net + "_fds_end")))
check(r["handshakes_failed"] == 0 and r["bulk_failed"] == 0, "failures under soak: %s"
      % json.dumps(r))
for title in start:
    s, e = start[title], end[title]
    if can_read_fds:
        check(e["fds"] == s["fds"], "%s: %d fds at the start, %d at the end" % (title, s["fds"],
                                                                               e["fds"]))
    if not SANITIZED:
        allowed = max(4096, s["rss"] // 10)
        check(e["rss"] - s["rss"] <= allowed, "%s: RSS grew by %d KiB (allowed %d)"
              % (title, e["rss"] - s["rss"], allowed))
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
