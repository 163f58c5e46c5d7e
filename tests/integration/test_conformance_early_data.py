"""A client that tries 0-RTT gets a full handshake (issue 19, item 3; RFC
8446 4.2.10): tlsward never accepts early data, and a server that does not
skips the client's early-data records, up to its limit, and goes on. The
helper had set OpenSSL's receive limit for early data to 0, so OpenSSL
aborted with "too much early data" instead. The conversations of a
conformance suite, written byte by byte (tls13_client.py): a ClientHello
with early_data and a ticket nobody issued, followed by 16 KiB of early
data in one record, in two, with a ChangeCipherSpec between or before
them, around a HelloRetryRequest; early data after the second ClientHello
is an error (bad_record_mac), as is more than the limit. The early data
never reaches the backend: the echo holds the request alone."""
from tls13_client import HANDSHAKE, Tls13Client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path, kind="rsa2048")
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key))
REQUEST = b"GET / HTTP/1.0\r\n\r\n"
early = Tls13Client.garbage_early_data
ccs = Tls13Client.change_cipher_spec


def attempt(early_records, hrr=False, after_second_hello=b""):
    """A 0-RTT attempt: the events after the client's Finished and request,
    or the alert that ended the handshake."""
    c = Tls13Client(tw.port)
    try:
        hello = c.client_hello(early_data=True, fake_psk=True, share=not hrr)
        c.send(c.records(HANDSHAKE, hello) + early_records)
        if c.read_server_hello() == "hrr":
            c.send(c.records(HANDSHAKE, c.client_hello(retry=True, fake_psk=True)) +
                   after_second_hello)
            check(c.read_server_hello() == "sh", "no ServerHello after the HelloRetryRequest")
        check(c.hrr == hrr, "HelloRetryRequest: %s, expected %s" % (c.hrr, hrr))
        c.read_server_flight()
        c.send(c.finished() + c.data(REQUEST))
        return c.read_records(until=lambda ev: ev[-1][0] == "data")
    except Exception as e:  # the alert (PeerAlert) or the connection's end
        return [(getattr(e, "what", repr(e)), b"")]
    finally:
        c.close()


ACCEPTED = [
    ("invalid 0-RTT, 16 KiB of early data in one record", early(16384), False, b""),
    ("fragmented early data (two records)", early(8192) + early(8192), False, b""),
    ("a ChangeCipherSpec between early-data records", early(8192) + ccs() + early(8192), False,
     b""),
    ("a ChangeCipherSpec before the early data", ccs() + early(16384), False, b""),
    ("early data with a HelloRetryRequest", early(16384), True, b""),
    ("fragmented early data with a HelloRetryRequest", early(8000) + early(8000), True, b""),
]
for name, records, hrr, after in ACCEPTED:
    events = attempt(records, hrr, after)
    kinds = [k for k, _ in events]
    check(kinds and kinds[-1] == "data" and events[-1][1] == REQUEST,
          "%s: want a full handshake and the echo of the request alone, got %s"
          % (name, kinds))
    check("ticket" in kinds, "%s: no ticket before the response: %s" % (name, kinds))
    log("ok: %s: skipped, full handshake, the backend saw the request alone" % name)

REFUSED = [
    ("early data after the second ClientHello", early(16384), True, early(64), "bad_record_mac"),
    ("more early data than the limit (2 x 16 KiB)", early(16384) + early(16384), False, b"",
     "unexpected_message"),
]
for name, records, hrr, after, alert in REFUSED:
    mark = tw.mark()
    events = attempt(records, hrr, after)
    check([k for k, _ in events] == ["alert " + alert],
          "%s: want alert %s, got %s" % (name, alert, [k for k, _ in events]))
    tw.wait_for(r"event=close .*handshake failed: alert_sent alert=%s" % alert, start=mark,
                timeout=10 * SLOW)
    log("ok: %s: refused with %s" % (name, alert))

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
