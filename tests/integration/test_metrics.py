"""The metrics endpoint (--metrics) during a run: counters move as traffic
does (handshakes, failures by reason, bytes), a flood of bad clients is
counted exactly while its log lines are budgeted, malformed requests get
400/404/405, slow clients get 408 and extra ones are turned away, and TLS
traffic goes on meanwhile at the same speed; `tlsward status --json`
parses and matches the running process tree."""
import json
import socket
import ssl

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
echo = Backend("echo")
control = tmp.file("ctl.sock")
tw = Tlsward(server_args(echo, cert, key, "--metrics", "127.0.0.1:0", "--control", control,
                         helpers=2))
mport = int(tw.wait_for(r"event=metrics_listening address=127\.0\.0\.1:(\d+)")[0].rsplit(":", 1)[1])
log("metrics on 127.0.0.1:%d" % mport)


def http(raw, timeout=10):
    """Sends raw bytes to the metrics port; returns everything until EOF."""
    with socket.create_connection(("127.0.0.1", mport), timeout=timeout) as s:
        s.sendall(raw)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d


def scrape():
    t0 = time.time()
    r = http(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    took = time.time() - t0
    head, _, body = r.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200 OK"), "scrape: %r" % head[:200])
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values, took


def delta(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


def echo_round(n=20000):
    s = tls_client.connect(tw.port, tls_client.context(cafile=cert))
    data = os.urandom(n)
    s.sendall(data)
    got = b""
    while len(got) < n:
        d = s.recv(65536)
        check(d, "echo ended early")
        got += d
    check(got == data, "echo mismatch")
    s.close()


SVC = '{service="server"%s}'
m0, _ = scrape()
for _ in range(5):
    echo_round()
# Counters are final once netproc has closed the connections.
wait_until(lambda: delta(m0, scrape()[0], "tlsward_connections_total" + SVC % "") == 5
           and scrape()[0]["tlsward_connections_open" + SVC % ""] == 0, 5 * SLOW,
           "connections never closed")
m1, took = scrape()
check(delta(m0, m1, "tlsward_handshakes_total" + SVC % ',result="ok"') == 5, "handshakes ok")
check(delta(m0, m1, "tlsward_bytes_received_total" + SVC % "") == 5 * 20000, "bytes received")
check(delta(m0, m1, "tlsward_bytes_sent_total" + SVC % "") == 5 * 20000, "bytes sent")
check(delta(m0, m1, "tlsward_handshake_helper_seconds_count") == 5, "helper histogram count")
check(delta(m0, m1, "tlsward_handshake_queue_wait_seconds_count") == 5, "queue histogram count")
check(m1["tlsward_record_size_bytes_count"] >= 5, "record sizes")
check(m1["tlsward_helpers_ready"] == 2, "helpers ready")
log("ok: 5 handshakes, 100000 bytes each way counted; scrape took %.1f ms, render %.3f ms"
    % (took * 1000, m1["tlsward_metrics_render_seconds"] * 1000))

# Failures by reason, and a flood of them: every one counted, log lines budgeted.
mark = tw.mark()
for _ in range(30):
    with socket.create_connection(("127.0.0.1", tw.port)) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")  # plaintext to the TLS port
        try:
            s.recv(100)
        except OSError:
            pass
for _ in range(3):
    socket.create_connection(("127.0.0.1", tw.port)).close()  # gone before its ClientHello
old = tls_client.context(version="1.2", ciphers="AES128-SHA")  # no suite tlsward accepts
for _ in range(2):
    try:
        tls_client.connect(tw.port, old).close()
        fail("a CBC-only TLS 1.2 client was accepted")
    except (ssl.SSLError, OSError):
        pass
FAILED = "tlsward_handshake_failures_total" + SVC
wait_until(lambda: delta(m1, scrape()[0], "tlsward_handshakes_total" + SVC % ',result="failed"')
           == 35, 5 * SLOW, "35 failed handshakes never counted")
m2, _ = scrape()
by = {r: delta(m1, m2, FAILED % (',reason="%s"' % r)) for r in ("io_error", "peer_closed", "alert_sent")}
check(by == {"io_error": 30, "peer_closed": 3, "alert_sent": 2}, "by reason: %s" % by)
lines = tw.count(r"netproc\[\d+\]: event=close .*handshake failed", start=mark)
check(lines <= 20, "%d close lines for 35 failures within a second (budget 20)" % lines)
time.sleep(1.1)
socket.create_connection(("127.0.0.1", tw.port)).close()
tw.wait_for(r"netproc\[\d+\]: event=close .*reason=\"handshake failed.*suppressed=\d+", start=mark)
check(scrape()[0]["tlsward_log_lines_suppressed_total"] >= 35 - lines - 1, "suppressed count")
log("ok: 30 io_error (plaintext) + 3 peer_closed + 2 alert_sent counted exactly; %d of 35 "
    "close lines written, the rest counted (suppressed=)" % lines)

# Malformed requests get their status; the endpoint still answers afterwards.
for raw, want in ((b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 "),
                  (b"\x16\x03\x01\x00\x05hello\n", b"HTTP/1.1 400 "),
                  (b"GET /secret HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 "),
                  (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 "),
                  (b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 5000 + b"\r\n\r\n",
                   b"HTTP/1.1 431 ")):
    r = http(raw)
    check(r.startswith(want), "%r... answered %r" % (raw[:20], r[:40]))
log("ok: malformed requests get 400/404/405/431")


def echo_latency(s, rounds=20):
    """Mean round trip of 4000 bytes on an established connection: what
    netproc's loop does for traffic. (New connections also wait for a
    helper, whose share of the CPU depends on whatever else the machine
    runs, other tests included: helper_nice.)"""
    t0 = time.time()
    for _ in range(rounds):
        data = os.urandom(4000)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            d = s.recv(65536)
            check(d, "echo ended early")
            got += d
        check(got == data, "echo mismatch")
    return (time.time() - t0) / rounds


established = tls_client.connect(tw.port, tls_client.context(cafile=cert))
base = echo_latency(established)
# Slow clients: a partial request line, then nothing. Eight hold every
# metrics slot; a ninth is closed at once; TLS traffic does not notice.
slow = []
for _ in range(8):
    s = socket.create_connection(("127.0.0.1", mport))
    s.sendall(b"GET /met")
    slow.append(s)
time.sleep(0.2)
ninth = socket.create_connection(("127.0.0.1", mport), timeout=5)
check(ninth.recv(100) == b"", "a ninth metrics client was not turned away")
ninth.close()
busy = echo_latency(established)
check(busy < base * 3 + 0.02, "TLS echo %.1f ms with slow metrics clients, %.1f ms without"
      % (busy * 1000, base * 1000))
echo_round(4000)  # and a new connection is served meanwhile
established.close()
t0 = time.time()
for s in slow:
    s.settimeout(10)
    r = s.recv(200)
    check(r.startswith(b"HTTP/1.1 408 "), "slow client got %r" % r[:40])
    s.close()
waited = time.time() - t0 + 0.2
check(waited < 6.5 * SLOW, "slow clients held %.1f s" % waited)
m3, _ = scrape()
check(m3['tlsward_metrics_requests_total{result="timeout"}'] == 8, "timeouts counted")
check(m3['tlsward_metrics_requests_total{result="rejected"}'] >= 1, "rejections counted")
check(m3['tlsward_metrics_requests_total{result="bad"}'] >= 5, "bad requests counted")
log("ok: 8 slow metrics clients got 408 after %.1f s, a 9th was turned away; TLS echo "
    "%.2f ms per round meanwhile vs %.2f ms without" % (waited, busy * 1000, base * 1000))

# status --json parses and matches the process tree.
r = cli("status", "--json", "--control", control)
check(r.returncode == 0, "status: %s" % r.stderr)
st = json.loads(r.stdout)
check(st["pid"] == tw.proc.pid, "supervisor pid")
tree = {pid: title for pid, title in tw.children().items()}
listed = {p["pid"]: p for p in st["processes"]}
check(set(listed) == set(tree), "status lists %s, /proc has %s" % (sorted(listed), sorted(tree)))
for pid, p in listed.items():
    check(tree[pid] == "tlsward: " + p["name"], "pid %d is %r, status says %s" % (pid, tree[pid], p["name"]))
    check(p["state"] == "ready" and p["generation"] == 1 and p["restarts"] == 0, "process %s" % p)
    check(p["uptime_ms"] > 0, "uptime")
check(st["metrics"] == "127.0.0.1:%d" % mport, "status metrics %r" % st["metrics"])
m4, _ = scrape()
check(m4["tlsward_config_generation"] == st["generation"] == 1, "generation")
ok = m4["tlsward_handshakes_total" + SVC % ',result="ok"']

def status_agrees():
    st = json.loads(cli("status", "--json", "--control", control).stdout)
    svc = st["services"][0]
    return (st["handshakes"]["ok"] == ok and svc["handshakes"]["ok"] == ok
            and svc["bytes"]["from_tls"] == m4["tlsward_bytes_received_total" + SVC % ""]
            and svc["connections"]["total"] == m4["tlsward_connections_total" + SVC % ""])


wait_until(status_agrees, 3 * SLOW, "status and metrics disagree on handshakes, bytes or totals")
# The helpers' own counts reach the endpoint through PONG and the supervisor.
wait_until(lambda: scrape()[0].get('tlsward_helper_handshakes_total{result="ok"}') == ok,
           4 * SLOW, "the helpers' own handshake count never matched netproc's")
log("ok: status --json: %d processes match /proc, generation %d, metrics %s"
    % (len(listed), st["generation"], st["metrics"]))

# A reload keeps the endpoint (same address, same socket) and shows up in it.
r = cli("reload", "--control", control)
check(r.returncode == 0, "reload: %s %s" % (r.stdout, r.stderr))
wait_until(lambda: scrape()[0].get("tlsward_config_generation") == 2, 5 * SLOW,
           "the metrics never showed generation 2")
m5, _ = scrape()
check(m5['tlsward_reloads_total{result="ok"}'] == 1, "reloads counted")
check(m5["tlsward_handshakes_total" + SVC % ',result="ok"'] >= ok, "counters went back after a reload")
log("ok: after a reload the endpoint answers on the same port: generation 2, 1 reload")

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
echo.stop()
tmp.cleanup()
