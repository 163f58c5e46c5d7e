"""Clients that abort at every point of a handshake, many in flight at once
(issue 19, item 6). A helper logged `poll: bad file descriptor` (an
io_error) when a client reset its connection mid-handshake: the reset
shows as EPOLLERR on the helper's watch, which the poller reports as
UV_EBADF, libuv's word for it. The descriptor was the helper's own (its
watch is removed before its copy of the fd is closed), but the message
said otherwise and the failure was counted as an I/O error. Now the helper
asks the socket (SO_ERROR) and a reset is peer_closed.

Each client stops at one point, with a FIN or a reset: right after
connecting, in the middle of its ClientHello, after it, after the server's
flight, in the middle of its Finished; the rest complete the handshake
and send a token of their own, which must come back on that connection and
no other. Afterwards: no helper logged a poll or descriptor error, no
handshake failed as io_error or internal (netproc's metrics count every
failure, whatever the log budget let through), and each helper holds no
more descriptors than before."""
import os
import random
import re
import socket
import threading
import time

from tls13_client import HANDSHAKE, Tls13Client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path, kind="rsa2048")
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key, "--metrics", "127.0.0.1:0"))
mport = int(tw.wait_for(r"event=metrics_listening address=127\.0\.0\.1:(\d+)")[0]
            .rsplit(":", 1)[1])
POINTS = ("connect", "mid_hello", "after_hello", "after_flight", "mid_finished", "complete")
CLIENTS = 360  # a sixth complete; the rest abort, half with a FIN, half with a reset
WAVE = 60      # started at once


def metrics():
    with socket.create_connection(("127.0.0.1", mport), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    values = {}
    for line in out.decode().split("\r\n\r\n", 1)[1].splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def helper_fds():
    out = {}
    for pid, title in tw.children().items():
        if title.startswith("tlsward: crypto"):
            out[title] = len(os.listdir("/proc/%d/fd" % pid))
    return out


results = {}


def client(i, point, reset):
    token = b"token %d %s\n" % (i, os.urandom(8).hex().encode())
    c = None
    try:
        c = Tls13Client(tw.port, linger_reset=reset, timeout=30)
        if point == "connect":
            return
        hello = c.records(HANDSHAKE, c.client_hello())
        if point == "mid_hello":
            c.send(hello[: len(hello) // 2])
            return
        c.send(hello)
        if point == "after_hello":
            return
        c.read_server_hello()
        c.read_server_flight()
        if point == "after_flight":
            return
        finished = c.finished()
        if point == "mid_finished":
            c.send(finished[: len(finished) // 2])
            return
        c.send(finished + c.data(token))
        events = c.read_records(until=lambda ev: ev[-1][0] == "data")
        results[i] = events[-1] == ("data", token) and "own" or "wrong: %r" % events[-1:]
    except Exception as e:
        results[i] = "error: %r" % (e,)
    finally:
        if c:
            c.close()
        results.setdefault(i, "aborted")


# Both helpers connected to netproc and warmed up before the baseline.
tw.wait_for(r"crypto\[\d+\].*event=netproc_channel ", count=2, timeout=10 * SLOW)
for i in range(4):
    c = Tls13Client(tw.port)
    c.handshake()
    c.send(c.finished() + c.data(b"warm-up\n"))
    c.read_records(until=lambda ev: ev[-1][0] == "data")
    c.close()
fds_before = wait_until(lambda: helper_fds(), 5, "no helpers")
time.sleep(0.5)
fds_before = helper_fds()
m0 = metrics()
failures_before = {k: v for k, v in m0.items() if k.startswith("tlsward_handshake_failures_total")}
handshakes_before = m0.get('tlsward_handshakes_total{service="server",result="ok"}', 0) + m0.get(
    'tlsward_handshakes_total{service="server",result="failed"}', 0)
mark = tw.mark()
rng = random.Random(19)
plan = [(i, POINTS[i % len(POINTS)], (i // len(POINTS)) % 2 == 1) for i in range(CLIENTS)]
rng.shuffle(plan)
for w in range(0, CLIENTS, WAVE):
    threads = [threading.Thread(target=client, args=p) for p in plan[w:w + WAVE]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    check(not any(t.is_alive() for t in threads), "a client hung")

completed = [i for i, point, _ in plan if point == "complete"]
wrong = {i: results.get(i) for i in completed if results.get(i) != "own"}
check(not wrong, "handshakes that did not end on their own connection: %s" % wrong)
log("ok: %d clients, %d in flight at a time; %d completed, each got its own token back; "
    "%d aborted at %s" % (CLIENTS, WAVE, len(completed), CLIENTS - len(completed),
                          ", ".join(POINTS[:-1])))


OK = 'tlsward_handshakes_total{service="server",result="ok"}'
FAILED = 'tlsward_handshakes_total{service="server",result="failed"}'


def settled():
    # Every connection's handshake has ended and been counted.
    m = metrics()
    done = m.get(OK, 0) + m.get(FAILED, 0) - handshakes_before
    return done == CLIENTS and m


m = wait_until(settled, 30 * SLOW, lambda: "handshakes counted: %d of %d" % (
    metrics().get(OK, 0) + metrics().get(FAILED, 0) - handshakes_before, CLIENTS))
bad = [l for l in tw.lines[mark:] if re.search(r"crypto\[\d+\]", l) and
       re.search(r"poll|bad file descriptor|epoll_ctl|EBADF", l)]
check(not bad, "a helper logged a poll or descriptor error:\n%s" % "\n".join(bad[:10]))
# A timeout would be a connection held to its deadline after its client
# had gone (a reset in the middle of a ClientHello did that in netproc).
for reason in ("io_error", "internal", "timeout", "helper_timeout"):
    name = 'tlsward_handshake_failures_total{service="server",reason="%s"}' % reason
    grew = m.get(name, 0) - failures_before.get(name, 0)
    check(grew == 0, "%d handshakes failed as %s:\n%s" % (grew, reason, tw.log_text()))
counts = {k.split('reason="')[1][:-2]: int(v - failures_before.get(k, 0)) for k, v in m.items()
          if k.startswith("tlsward_handshake_failures_total") and v > failures_before.get(k, 0)}
log("ok: no helper logged a poll or descriptor error; no io_error, internal or timeout (%s)"
    % ", ".join("%s %d" % kv for kv in sorted(counts.items())))

fds_after = wait_until(lambda: helper_fds() == fds_before and helper_fds(), 10 * SLOW,
                       lambda: "helper fds %s, before %s" % (helper_fds(), fds_before))
log("ok: each helper holds as many descriptors as before: %s" % fds_after)

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
