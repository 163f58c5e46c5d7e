"""5,000 clients that send half a ClientHello and wait (slowloris). netproc
lends a socket to a helper only once the first record is complete
(netproc/client_hello.hpp), so none of them occupies a helper: real
handshakes keep succeeding at once while they are held, every one of
them is closed by netproc at the handshake deadline (2 s here, not
earlier), and an established connection keeps its latency (tlsward-bench
ping during the hold and the mass close, against a quiet baseline:
figures are reported; only a stall of a second or more fails).

TLSWARD_SLOW_CLIENTS overrides the count (the sanitizer build uses 2,000:
ASan's netproc is several times slower at accepting)."""
import json
import re
import resource
import selectors
import socket
import ssl

import tls_client
from bench_backend import BenchBackend, bench, bench_result, bench_start
from harness import *

def cpu_seconds(pid):
    """utime + stime of a process, from /proc."""
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


N = int(os.environ.get("TLSWARD_SLOW_CLIENTS", 2000 if SANITIZED else 5000))
TIMEOUT_S = 2
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = N + 1000
if soft < want:
    check(hard == resource.RLIM_INFINITY or hard >= want,
          "RLIMIT_NOFILE hard limit %d is below the %d fds this test needs" % (hard, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = BenchBackend()
control = tmp.file("ctl.sock")
tw = Tlsward(server_args(backend, cert, key, "--handshake-timeout", str(TIMEOUT_S),
                         "--control", control))
server = "127.0.0.1:%d" % tw.port

quiet = bench("ping", server, "--duration", "2", "--warmup", "0.5", "--interval-ms", "5")
log("baseline ping: p50 %.3f ms, p99 %.3f ms, max %.3f ms"
    % (quiet["quiet_p50_ms"], quiet["quiet_p99_ms"], quiet["quiet_max_ms"]))

hello = tls_client.client_hello()
half = hello[: len(hello) // 2]
# The ping runs through the whole attack: the connects, the hold and the
# mass close at the deadline.
ping = bench_start("ping", server, "--duration", str(TIMEOUT_S + 4), "--warmup", "0.2",
                   "--interval-ms", "5")
time.sleep(0.5)

sel = selectors.DefaultSelector()
opened = {}
t_start = time.time()
for i in range(N):
    s = socket.socket()
    s.setblocking(False)
    opened[i] = [s, time.time(), None]  # socket, when it connected, when it was closed
    s.connect_ex(("127.0.0.1", tw.port))
    sel.register(s, selectors.EVENT_WRITE, i)
sent = 0
deadline = time.time() + 30 * SLOW
while sent < N and time.time() < deadline:
    for k, _ in sel.select(timeout=1):
        s = k.fileobj
        sel.unregister(s)
        s.send(half)
        sel.register(s, selectors.EVENT_READ, k.data)
        sent += 1
check(sent == N, "only %d of %d clients connected and sent half a ClientHello" % (sent, N))
log("%d clients sent half a ClientHello in %.2fs" % (N, time.time() - t_start))

# While they are held: real handshakes succeed, no helper holds a job.
took = []
for i in range(5):
    t0 = time.time()
    try:
        tls_client.connect(tw.port, timeout=5 * SLOW).close()
    except (OSError, ssl.SSLError) as e:
        fail("a real handshake failed while the half-open clients were held: %s" % e)
    took.append(time.time() - t0)
handshakes = json.loads(cli("status", "--json", "--control", control).stdout)["handshakes"]
log("while held: 5 real handshakes took %s ms; status handshakes %s"
    % (", ".join("%.1f" % (t * 1000) for t in took), json.dumps(handshakes)))
check(handshakes["in_flight"] <= 1 and handshakes["queued"] == 0,
      "the half-open clients reached the helpers: %s" % handshakes)
# Held, they cost netproc nothing: it peeked at each half ClientHello once
# per segment (an edge-triggered watch), not on every turn of its loop. A
# level-triggered watch kept it peeking at all of them without pause (a
# whole core for the 2 s they were held, and the ping above at 5-15 ms).
netproc = [pid for pid, title in tw.children().items() if "netproc" in title][0]
idle_from, cpu_from = time.time(), cpu_seconds(netproc)
time.sleep(max(0.2, TIMEOUT_S - (time.time() - t_start) - 0.3))
idle_s, idle_cpu = time.time() - idle_from, cpu_seconds(netproc) - cpu_from
log("netproc CPU while the clients were held: %.3f s in %.2f s" % (idle_cpu, idle_s))
check(idle_cpu < 0.25 * idle_s, "netproc used %.2f s of CPU in %.2f s while %d half-open clients "
      "only waited" % (idle_cpu, idle_s, N))

closed = 0
deadline = time.time() + TIMEOUT_S + 20 * SLOW
while closed < N and time.time() < deadline:
    for k, _ in sel.select(timeout=1):
        s = k.fileobj
        try:
            d = s.recv(4096)
        except ConnectionResetError:
            d = b""
        if d:
            fail("a half-open client got data: %r" % d[:40])
        sel.unregister(s)
        opened[k.data][2] = time.time()
        s.close()
        closed += 1
check(closed == N, "%d of %d half-open clients were closed" % (closed, N))
held = sorted(c[2] - c[1] for c in opened.values())
log("all %d closed by tlsward: held %.2f s min, %.2f s median, %.2f s max (deadline %d s)"
    % (N, held[0], held[len(held) // 2], held[-1], TIMEOUT_S))
# Not before the deadline, which runs from netproc's accept (after connect).
check(held[0] >= TIMEOUT_S - 0.05, "a client was closed after %.2fs, before the deadline"
      % held[0])

r = bench_result(ping)
log("ping during the attack: p50 %.3f ms, p99 %.3f ms, max %.3f ms over %d pings"
    % (r["quiet_p50_ms"], r["quiet_p99_ms"], r["quiet_max_ms"], r["quiet_pings"]))
check(r["quiet_pings"] > 0, "no ping went through during the attack")
check(r["quiet_max_ms"] < 1000 * SLOW, "the established connection stalled for %.0f ms"
      % r["quiet_max_ms"])

# Failure lines are budgeted (20 a second): each close is either logged or
# counted in the suppressed= of a later line. One more failure, after the
# budget's second, writes the last count.
time.sleep(1.1)
socket.create_connection(("127.0.0.1", tw.port)).close()
tw.wait_for(r"reason=\"handshake failed: peer_closed before its ClientHello arrived\"")
# Half a ClientHello and then the client's FIN: it can never complete, so
# netproc closes it at once rather than at the deadline.
s = socket.create_connection(("127.0.0.1", tw.port))
s.sendall(half)
t0 = time.time()
s.shutdown(socket.SHUT_WR)
s.settimeout(TIMEOUT_S * 2)
try:
    answer = s.recv(100)
except ConnectionResetError:  # closed with the half ClientHello unread: a reset
    answer = b""
check(answer == b"", "a half ClientHello followed by FIN got an answer: %r" % answer[:40])
waited = time.time() - t0
s.close()
log("half a ClientHello and FIN: closed after %.3f s" % waited)
check(waited < TIMEOUT_S / 2, "half a ClientHello and FIN waited %.2f s (the deadline is %d s)"
      % (waited, TIMEOUT_S))
tw.wait_for(r"reason=\"handshake failed: peer_closed before its ClientHello was complete\"")
check(tw.stop() == 0, "tlsward exit status")
n = tw.count(r"reason=\"handshake timeout: the ClientHello did not arrive")
with tw.cond:
    lines = list(tw.lines)
suppressed = sum(int(m.group(1)) for m in (re.search(r"event=close .* suppressed=(\d+)", l)
                                             for l in lines) if m)
check(n + suppressed == N, "%d of %d closes logged with the handshake timeout, %d suppressed"
      % (n, N, suppressed))
check(n <= 20 * (TIMEOUT_S + 10), "%d lines: the failure log was not budgeted" % n)
log("ok: %d timeout lines written, %d counted as suppressed" % (n, suppressed))
tw.check_clean_log()
backend.stop()
tmp.cleanup()
