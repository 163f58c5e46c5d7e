"""Every tlsward-bench mode, briefly, against tlsward (with tlsward-bench's
own backend as the target), so the load generator cannot silently rot.
Asserts that each mode ran and produced figures, never how fast."""
import json
import subprocess

from harness import *

BENCH = os.path.join(BUILD, "bench", "tlsward-bench")
check(os.access(BENCH, os.X_OK), "no %s (is bench/ built?)" % BENCH)

tmp = TempDir()
cert, key = make_cert(tmp.path)
env = dict(os.environ)
env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
backend = subprocess.Popen([BENCH, "backend", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
atexit.register(lambda: backend.poll() is None and backend.kill())
line = backend.stdout.readline().split()
check(len(line) == 2 and line[0] == "listening", "backend did not start: %r" % line)
target = line[1]


class Target:
    address = target


tw = Tlsward(server_args(Target, cert, key))
server = "127.0.0.1:%d" % tw.port
sup = str(tw.proc.pid)


def bench(mode, *args, connect=True):
    cmd = [BENCH, mode, *(["--connect", server] if connect else []), "--json", "--quiet", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120 * SLOW, env=env)
    check(p.returncode == 0, "%s failed (%d): %s\n%s" % (mode, p.returncode, p.stderr, p.stdout))
    report = json.loads(p.stdout)
    check(report["mode"] == mode, "%s: report for %r" % (mode, report["mode"]))
    return report["results"]


def positive(mode, results, *keys):
    for k in keys:
        check(isinstance(results.get(k), (int, float)) and results[k] > 0,
              "%s: %s = %r, want > 0 (results: %s)" % (mode, k, results.get(k), results))


r = bench("handshakes", "--duration", "1", "--warmup", "0.2", "--concurrency", "4",
          "--pid-of-supervisor", sup)
positive("handshakes", r, "handshakes_per_s", "latency_p50_ms", "latency_p99_ms",
         "client_cpu_cores", "server_cpu_cores")
check(r["failed"] == 0, "handshakes: %d failed" % r["failed"])
log("ok: handshakes %.0f/s, p99 %.2f ms" % (r["handshakes_per_s"], r["latency_p99_ms"]))

r = bench("handshakes", "--duration", "0.5", "--warmup", "0.2", "--concurrency", "2", "--resume",
          "--request", "--tls12")
positive("handshakes --resume --request --tls12", r, "handshakes_per_s")
log("ok: handshakes --resume --request --tls12 %.0f/s (resumed fraction %.2f: tlsward has no "
    "tickets yet)" % (r["handshakes_per_s"], r["resumed_fraction"]))

r = bench("throughput", "--duration", "1", "--warmup", "0.3", "--connections", "2",
          "--pid-of-supervisor", sup)
positive("throughput", r, "up_MBps", "down_MBps")
log("ok: throughput up %.0f MB/s, down %.0f MB/s" % (r["up_MBps"], r["down_MBps"]))

r = bench("ping", "--duration", "0.5", "--warmup", "0.2", "--interval-ms", "5", "--flood", "4",
          "--pid-of-supervisor", sup)
positive("ping", r, "quiet_p50_ms", "quiet_p99_ms", "quiet_max_ms", "quiet_pings", "flood_p50_ms",
         "flood_p99_ms", "flood_pings", "flood_handshakes_per_s")
log("ok: ping p99 quiet %.3f ms, flood %.3f ms" % (r["quiet_p99_ms"], r["flood_p99_ms"]))

r = bench("idle", "--connections", "100", "--concurrency", "8", "--settle", "0.2",
          "--pid-of-supervisor", sup)
check(r["established"] == 100, "idle: %d of 100 established" % r["established"])
positive("idle", r, "rss_idle_kib")
# Pss and fds need ptrace access to tlsward's (non-dumpable) children: root only.
if os.geteuid() == 0:
    positive("idle", r, "pss_idle_kib", "fds_per_conn")
check("rss_per_conn_bytes" in r, "idle: no rss_per_conn_bytes")
log("ok: idle %.0f B RSS per connection" % r["rss_per_conn_bytes"])

r = bench("soak", "--duration", "1", "--concurrency", "2", "--connections", "2", "--settle", "0.3",
          "--pid-of-supervisor", sup)
positive("soak", r, "handshakes", "bulk_MBps", "rss_start_kib", "rss_end_kib")
if os.geteuid() == 0:
    positive("soak", r, "fds_start", "fds_end")
log("ok: soak %.0f handshakes/s, RSS %d -> %d KiB" % (r["handshakes_per_s"], r["rss_start_kib"],
                                                     r["rss_end_kib"]))

# No server: OpenSSL's own cost per handshake, both sides in one process.
r = bench("openssl", "--cert", cert, "--key", key, "--duration", "0.3", "--warmup", "0.1",
          connect=False)
positive("openssl", r, "handshakes", "server_cpu_ms_per_handshake", "client_cpu_ms_per_handshake")
log("ok: openssl server %.3f ms, client %.3f ms per handshake"
    % (r["server_cpu_ms_per_handshake"], r["client_cpu_ms_per_handshake"]))
p = subprocess.run([BENCH, "openssl", "--cert", cert, "--json"], capture_output=True, text=True,
                   timeout=30 * SLOW, env=env)
check(p.returncode == 2 and "needs --cert FILE and --key FILE" in p.stderr,
      "openssl without --key: %d %s" % (p.returncode, p.stderr))

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.terminate()
out, err = backend.communicate(timeout=20 * SLOW)
check(backend.returncode == 0, "backend exit status %s: %s" % (backend.returncode, err[-2000:]))
tmp.cleanup()
