"""Record-layer conversations of an independent TLS conformance suite that
OpenSSL-based servers pass (issue 19, items 1 and 2), written byte by byte
(tls13_client.py) against tlsward with an RSA certificate:
- 32 KeyUpdates asking for an answer, back to back in the segment that
  carries the client's Finished, then a request: 32 KeyUpdates come back,
  then the response (OpenSSL answers each; tlsward answered once and the
  suite saw the response where it expected the second KeyUpdate). 32 not
  asking get none. A 33rd in the same run is the flood the cap stops
  (BoringSSL's bound), with unexpected_message;
- an alert record with no content, with or without padding, under the
  application keys: unexpected_message, as OpenSSL answers (tlsward sent
  decode_error)."""
from tls13_client import ALERT, Tls13Client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path, kind="rsa2048")
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key))
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def until_data(events):
    return events[-1][0] == "data"


def kinds(events):
    return [k for k, _ in events]


for n, ask in ((32, True), (32, False), (1, True)):
    c = Tls13Client(tw.port)
    c.handshake()
    wire = c.finished() + b"".join(c.key_update(ask) for _ in range(n)) + c.data(REQUEST)
    c.send(wire)  # one segment: Finished, the KeyUpdates, the request
    events = c.read_records(until=until_data, limit=n + 8)
    c.close()
    got = [k for k in kinds(events) if k != "ticket"]
    want = ["key_update"] * (n if ask else 0) + ["data"]
    check(got == want, "%d pipelined KeyUpdates (update_requested=%s): got %s, want %s"
          % (n, ask, got, want))
    check(events[-1][1] == REQUEST, "the echo after %d KeyUpdates: %r" % (n, events[-1][1]))
    # Our answers say update_not_requested (RFC 8446 4.6.3): no ping-pong.
    check(all(m[4] == 0 for k, m in events if k == "key_update"),
          "an answer asked for another KeyUpdate")
    log("ok: %d pipelined KeyUpdates (update_requested=%s) after the Finished: %d answered, "
        "then the response" % (n, ask, got.count("key_update")))

mark = tw.mark()
c = Tls13Client(tw.port)
c.handshake()
c.send(c.finished() + b"".join(c.key_update(True) for _ in range(33)) + c.data(REQUEST))
events = c.read_records(limit=64)
c.close()
check(kinds(events)[-1] == "alert unexpected_message" and "data" not in kinds(events),
      "33 KeyUpdates in a row: got %s" % kinds(events))
tw.wait_for(r"event=close .*records in a row without application data", start=mark,
            timeout=10 * SLOW)
log("ok: a 33rd KeyUpdate in a row is refused with unexpected_message, nothing reached the "
    "backend")

for padding in (0, 1, 200):
    mark = tw.mark()
    c = Tls13Client(tw.port)
    c.handshake()
    c.send(c.finished() + c.data(b"first\n"))
    events = c.read_records(until=until_data)
    check(events[-1] == ("data", b"first\n"), "echo before the empty alert: %s" % kinds(events))
    c.send(c.client_app.seal(ALERT, b"", padding=padding))
    events = c.read_records(limit=8)
    c.close()
    check(kinds(events) == ["alert unexpected_message"],
          "empty alert with %d bytes of padding: got %s" % (padding, kinds(events)))
    line = tw.wait_for(r"event=close .*empty alert record", start=mark, timeout=10 * SLOW)[0]
    log("ok: an empty alert record (padding %d) gets unexpected_message: %s"
        % (padding, line.split("reason=", 1)[1]))

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
