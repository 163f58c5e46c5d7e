"""KeyUpdate storms after the hand-off (the client seals its own records,
tls13_writer.py). Thousands of KeyUpdates in a row without data are cut
off at netproc's bound (32 records in a row without application data, as
BoringSSL) with unexpected_message, whether they ask for an answer or
not, having had at most 32 answers. Thousands interleaved with data are
legal (RFC 8446 4.6.3) and carry the data intact, with one answer per
request (as OpenSSL answers; test_conformance_records counts them). A
transfer on another connection completes throughout."""
import hashlib
import threading

import tls_client
import tls13_writer
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
sink = Backend("sink")
tw_source = Tlsward(server_args(source, cert, key))
tw = Tlsward(server_args(sink, cert, key))
SIZE = 32 * 1024 * 1024
result = {}


def transfer():
    s = tls_client.connect(tw_source.port, timeout=60 * SLOW)
    s.sendall(b"%d\n" % SIZE)
    n, digest = read_digest(s, pause=0.002)  # slow, so that the transfer spans the storms
    result["n"] = n
    result["ok"] = digest == pattern_digest(SIZE)


t = threading.Thread(target=transfer)
t.start()

STORM = 5000
for request in (False, True):
    mark = tw.mark()
    c = tls13_writer.RawTls13Client(tw.port)
    c.send_raw(c.data(b"%d\n" % 10))
    c.send_raw(b"".join(c.key_update(request) for _ in range(STORM)))
    data, how = c.read_all()
    c.close()
    check("UNEXPECTED_MESSAGE" in how.upper().replace(" ", "_"),
          "storm of %d KeyUpdates (request=%s): expected unexpected_message, got %r"
          % (STORM, request, how))
    line = tw.wait_for(r"event=close .*records in a row without application data", start=mark,
                       timeout=10 * SLOW)[0]
    log("ok: %d KeyUpdates in a row (update_requested=%s) cut off: %s"
        % (STORM, request, line.split("reason=", 1)[1][:90]))

# Interleaved with data: legal, and the data arrives intact.
ROUNDS = 3000
CHUNK = bytes(range(256)) * 4
mark = tw.mark()
c = tls13_writer.RawTls13Client(tw.port)
total = ROUNDS * len(CHUNK)
wire = [c.data(b"%d\n" % total)]
for i in range(ROUNDS):
    wire.append(c.key_update(True))
    wire.append(c.data(CHUNK))
c.send_raw(b"".join(wire))
data, how = c.read_all()
c.close()
want = ("%s %d\n" % (hashlib.sha256(CHUNK * ROUNDS).hexdigest(), total)).encode()
check(data == want, "interleaved storm: the sink saw %r (%s), want %r" % (data, how, want))
line = tw.wait_for(r"event=close ", start=mark, timeout=10 * SLOW)[0]
log("ok: %d KeyUpdates interleaved with %d bytes of data came through intact; close: %s"
    % (ROUNDS, total, line[:160]))

t.join(timeout=180 * SLOW)
check(result.get("n") == SIZE and result.get("ok"), "parallel transfer damaged: %r" % result)
log("ok: the parallel %d MiB transfer completed intact" % (SIZE >> 20))
for d in (tw, tw_source):
    check(d.stop() == 0, "tlsward exit status")
    d.check_clean_log()
source.stop()
sink.stop()
tmp.cleanup()
