"""Under systemd (JOURNAL_STREAM set), every process writes journal records
with fields on the supervisor's journal socket, netproc and the helpers
too from inside their sandboxes: a connection's close record carries
SERVICE, PEER, VERSION, SUITE, SNI, BYTES_IN/OUT, DURATION_MS and REASON.
log_connections = false keeps a service's ordinary close records out, but
not its failures. A stand-in journald socket (TLSWARD_JOURNAL_SOCKET)
receives the records."""
import re
import socket
import threading
import time

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
echo = Backend("echo")
jpath = tmp.file("journal.sock")
journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
journal.bind(jpath)
journal.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
records = []
cond = threading.Condition()


def receive():
    while True:
        try:
            d = journal.recv(1 << 16)
        except OSError:
            return
        fields = {}
        for line in d.decode(errors="replace").split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        with cond:
            records.append(fields)
            cond.notify_all()


threading.Thread(target=receive, daemon=True).start()


def wait_record(timeout=10, **want):
    deadline = time.time() + timeout * SLOW
    with cond:
        while True:
            for r in records:
                if all(r.get(k) == v for k, v in want.items()):
                    return r
            left = deadline - time.time()
            if left <= 0:
                fail("no journal record with %s; last: %s" % (want, records[-5:]))
            cond.wait(min(left, 0.2))


p1, p2 = free_port(), free_port()
conf = tmp.file("tlsward.toml")
with open(conf, "w") as f:
    f.write("""[[service]]
name = "loud"
listen = "127.0.0.1:%d"
target = "%s"
cert = "%s"
key = "%s"

[[service]]
name = "quiet"
listen = "127.0.0.1:%d"
target = "%s"
cert = "%s"
key = "%s"
log_connections = false
""" % (p1, echo.address, cert, key, p2, echo.address, cert, key))

# JOURNAL_STREAM names tlsward's stderr (device:inode), as systemd sets it.
as_journal_stream = ("sh", "-c",
                     'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" "$@"')
tw = Tlsward(["run", "--config", conf, "--control", tmp.file("ctl")], wait_ready=False,
             env={"TLSWARD_JOURNAL_SOCKET": jpath}, wrapper=as_journal_stream)


def wait_start_record(event, role):
    """The start-up record `event` of `role`: from the journal socket, or as
    the documented fallback line on stderr ("<6>ROLE[PID]: event=..."). At
    start four processes write at once, and a socket queues at most
    net.unix.max_dgram_qlen datagrams (10 by default) however large its
    buffer: when this receiver thread is not scheduled in time (CI under
    load), a record goes to stderr, as docs/operations.md says, and that is
    not lost (under systemd stderr is the journal's stream)."""
    rx = re.compile(r"^<6>%s\[\d+\]: event=%s( |$)" % (re.escape(role), event))
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline:
        with cond:
            if any(r.get("EVENT") == event and r.get("ROLE") == role for r in records):
                return "journal"
        if any(rx.search(l) for l in list(tw.lines)):
            return "stderr"
        time.sleep(0.05)
    fail("no %s record from %s on the journal socket or stderr; last records: %s"
         % (event, role, records[-5:]))


routes = {role: wait_start_record(ev, role)
          for ev, role in (("ready", "supervisor"), ("sandboxed", "netproc"),
                           ("sandboxed", "crypto[0]"))}
started = len(tw.lines)
# The supervisor's first records come before any child's: on the socket,
# with fields.
wait_record(ROLE="supervisor", SYSLOG_IDENTIFIER="tlsward", PRIORITY="6")
log("ok: supervisor and netproc records arrive with fields; start-up records by route: %s"
    % routes)

for port in (p1, p2):
    s = tls_client.connect(port, tls_client.context(cafile=cert))
    s.sendall(b"hello")
    check(s.recv(5) == b"hello", "echo")
    s.close()
r = wait_record(EVENT="close", SERVICE="loud", ROLE="netproc")
for k in ("CONN", "PEER", "VERSION", "SUITE", "SNI", "ALPN", "PEER_CN", "BYTES_IN", "BYTES_OUT",
          "DURATION_MS", "REASON", "MESSAGE"):
    check(k in r, "close record lacks %s: %s" % (k, r))
check(r["BYTES_IN"] == "5" and r["BYTES_OUT"] == "5" and r["SNI"] == "localhost", "%s" % r)
check(r["VERSION"] == "TLSv1.3" and r["MESSAGE"].startswith("netproc: event=close "), "%s" % r)
log("ok: close record: %s" % " ".join("%s=%s" % (k, r[k]) for k in sorted(r) if k != "MESSAGE"))

# A helper writes from inside its sandbox: a ClientHello of 4 garbage bytes
# (a whole record, so netproc lends it) is a failure the helper logs at info.
bad = socket.create_connection(("127.0.0.1", p1))
bad.sendall(bytes([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]))
bad.settimeout(5 * SLOW)
try:
    bad.recv(64)  # the decode_error alert
except OSError:
    pass
bad.close()
deadline = time.time() + 10 * SLOW
helper_record = None
while helper_record is None and time.time() < deadline:
    with cond:
        helper_record = next((r for r in records if r.get("EVENT") == "handshake_failed" and
                              r.get("ROLE", "").startswith("crypto[")), None)
    time.sleep(0.05)
check(helper_record is not None and helper_record.get("SYSLOG_IDENTIFIER") == "tlsward" and
      helper_record.get("REASON") == "alert_sent", "no helper record with fields: %s" % records[-5:])
log("ok: a helper's record arrives with fields from inside its sandbox: %s"
    % helper_record.get("MESSAGE"))

# A failure on the quiet service is still recorded; its ordinary close was not.
socket.create_connection(("127.0.0.1", p2)).close()
wait_record(EVENT="close", SERVICE="quiet", ROLE="netproc")
with cond:
    quiet = [x for x in records if x.get("EVENT") == "close" and x.get("SERVICE") == "quiet"]
# (netproc closes it itself: it never sent a ClientHello, so no helper saw it.)
check(len(quiet) == 1 and quiet[0]["REASON"] == "handshake failed: peer_closed before its ClientHello arrived",
      "quiet records: %s" % quiet)
log("ok: log_connections = false: no close record for a good connection, one for a failure")

check(tw.stop() == 0, "tlsward exit status")
late = [l for l in tw.lines[started:] if "event=" in l]
check(not late, "lines went to stderr after the start: %s" % late[:3])

# JOURNAL_STREAM inherited by something whose stderr is not that stream
# (a shell started from the service): lines stay on stderr.
tw = Tlsward(["run", "--config", conf, "--control", tmp.file("ctl")],
             env={"JOURNAL_STREAM": "8:12345", "TLSWARD_JOURNAL_SOCKET": jpath})
check(tw.stop() == 0, "tlsward exit status")
log("ok: a JOURNAL_STREAM that is not tlsward's stderr leaves the lines on stderr")
journal.close()
echo.stop()
tmp.cleanup()
