"""A handshake flood far above capacity: one helper with 4 jobs at a time
and a queue of 8 against 200 handshake loops (tlsward-bench ping --flood).
The bounded queue sheds: refusals are counted (tlsward status) and logged
at most once a second, handshakes that get in are served, netproc's and
the helper's memory stay bounded (RSS sampled throughout), and the
established ping connection keeps flowing (figures reported, only a stall
of a second or more fails)."""
import json
import threading

from bench_backend import BenchBackend, bench
from harness import *
from load import rss_kib

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = BenchBackend()
control = tmp.file("ctl.sock")
conf = tmp.file("tlsward.toml")
with open(conf, "w") as f:
    f.write("""
[global]
helpers = 1
max_jobs_per_helper = 4
handshake_queue_limit = 8
control_socket = "%s"

[[service]]
name = "flooded"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"
handshake_timeout = "2s"
""" % (control, backend.address, cert, key))
# Under ASan, freed memory waits in a quarantine (256 MiB by default) before
# reuse, which would read as growth here: keep it small for this run.
tw = Tlsward(["run", "--config", conf],
             env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:quarantine_size_mb=8"}
             if SANITIZED else None)
server = "127.0.0.1:%d" % tw.port
procs = {"netproc": tw.child_pid("tlsward: netproc"), "helper": tw.child_pid("tlsward: crypto[0]")}
check(all(procs.values()), "processes: %s" % procs)
rss_before = {k: rss_kib(p) for k, p in procs.items()}
peak = dict(rss_before)
sampling = True


def sample():
    while sampling:
        for k, p in procs.items():
            try:
                peak[k] = max(peak[k], rss_kib(p))
            except OSError:
                pass
        time.sleep(0.1)


sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
r = bench("ping", server, "--duration", "4", "--warmup", "0.5", "--interval-ms", "5",
          "--flood", "200", "--flood-threads", "2")
sampling = False
sampler.join()
rss_after = {k: rss_kib(p) for k, p in procs.items()}
h = json.loads(cli("status", "--json", "--control", control).stdout)["handshakes"]

log("ping quiet: p50 %.3f ms, p99 %.3f ms; under the flood: p50 %.3f ms, p99 %.3f ms, "
    "max %.3f ms over %d pings"
    % (r["quiet_p50_ms"], r["quiet_p99_ms"], r["flood_p50_ms"], r["flood_p99_ms"],
       r["flood_max_ms"], r["flood_pings"]))
log("flood: %.0f handshakes/s completed by the clients; tlsward: %d served, %d refused, "
    "%d failed" % (r["flood_handshakes_per_s"], h["ok"], h["refused"], h["failed"]))
for k in procs:
    log("%s RSS: %d KiB before, %d KiB peak, %d KiB after" % (k, rss_before[k], peak[k],
                                                             rss_after[k]))
check(h["refused"] > 0, "nothing was refused: the flood did not exceed capacity? %s" % h)
check(h["ok"] > 0, "nothing was served under the flood: %s" % h)
check(r["flood_pings"] > 0, "no ping went through under the flood")
check(r["flood_max_ms"] < 1000 * SLOW, "the established connection stalled for %.0f ms"
      % r["flood_max_ms"])
# Bounded: a shed connection costs nothing once closed; 32 MiB covers
# allocator noise, not per-connection growth (hundreds of thousands of
# attempts would show as hundreds of MiB).
for k in procs:
    check(peak[k] - rss_before[k] < 32 * 1024 * SLOW, "%s grew by %d KiB under the flood"
          % (k, peak[k] - rss_before[k]))
refusal_lines = tw.count(r"event=refused reason=(handshake_queue_full|helpers_overloaded)")
log("refusals logged in %d lines (at most one a second, with the number suppressed)"
    % refusal_lines)
check(0 < refusal_lines <= 12, "%d refusal log lines for a 5 s flood" % refusal_lines)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
