"""With session tickets on, a TLS 1.3 client gets a NewSessionTicket before
any application data, on a full handshake and on a resumed one (issue 19,
item 5). The client sends its Finished and `GET / HTTP/1.0` in one segment,
as a conformance suite's resumption cases do, and resumes with each new
ticket (RFC 8446 C.4: a ticket is for one use). OpenSSL 3.0 sends no
ticket after a resumption unless the ticket callback asks to renew, so the
resumed connection got the response with no ticket first, and a client
could resume only once. Written byte by byte (tls13_client.py), so the
order of the server's records is seen as it is on the wire."""
from tls13_client import Tls13Client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path, kind="rsa2048")
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key))
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def connect(resume=None):
    """(events after the Finished+request segment, resumed?, client)."""
    c = Tls13Client(tw.port, suites=(0x1301,))
    c.handshake(resume=resume)
    c.send(c.finished() + c.data(REQUEST))
    events = c.read_records(until=lambda ev: ev[-1][0] == "data")
    c.close()
    return events, c.resumed, c


ticket = None
for round in range(4):
    events, resumed, c = connect(ticket)
    kinds = [k for k, _ in events]
    check(resumed == (round > 0), "round %d: resumed=%s" % (round, resumed))
    check(kinds and kinds[0] == "ticket" and kinds[-1] == "data",
          "round %d (%s): want a NewSessionTicket before the response, got %s"
          % (round, "resumed" if resumed else "full", kinds))
    check(events[-1][1] == REQUEST, "round %d: the echo %r" % (round, events[-1][1]))
    ticket = c.ticket(events[0][1])
    log("ok: %s handshake, Finished and request in one segment: %s"
        % ("resumed" if resumed else "full", " then ".join(kinds)))

# Without tickets, none is sent, and the response still comes.
tw_off = Tlsward(server_args(backend, cert, key, "--no-session-tickets"))
c = Tls13Client(tw_off.port)
c.handshake()
c.send(c.finished() + c.data(REQUEST))
kinds = [k for k, _ in c.read_records(until=lambda ev: ev[-1][0] == "data")]
c.close()
check(kinds == ["data"], "tickets off: got %s" % kinds)
log("ok: --no-session-tickets: no ticket, the response alone")

for d in (tw, tw_off):
    check(d.stop() == 0, "tlsward exit status")
    d.check_clean_log()
backend.stop()
tmp.cleanup()
