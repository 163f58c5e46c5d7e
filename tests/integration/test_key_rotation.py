"""Link key rotation done by netproc (TLS 1.3 KeyUpdate):
- with --key-update-bytes, a client downloading 8 MiB observes a KeyUpdate
  every 1 MiB and the data arrives intact;
- uploads make tlsward request (update_requested) that the client rotates
  its own key, which OpenSSL does;
- with key_update_interval in a configuration file, a slow stream sees a
  KeyUpdate about every interval."""
import hashlib

import tls_client
from harness import *

MiB = 1024 * 1024
tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
sink = Backend("sink")


def counting_context():
    ctx = tls_client.context(cafile=cert, version="1.3")
    seen = {"read": 0, "write": 0}

    def cb(conn, direction, version, content_type, msg_type, data):
        if msg_type == ssl._TLSMessageType.KEY_UPDATE:
            seen[direction] += 1

    ctx._msg_callback = cb
    return ctx, seen


import ssl  # noqa: E402  (used by the callback above)

tw = Tlsward(server_args(source, cert, key, "--key-update-bytes", str(MiB)))
ctx, seen = counting_context()
s = tls_client.connect(tw.port, ctx, timeout=30)
s.sendall(b"%d\n" % (8 * MiB))
h = hashlib.sha256()
n = 0
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    h.update(d)
    n += len(d)
s.close()
check(n == 8 * MiB and h.hexdigest() == pattern_digest(8 * MiB), "download damaged")
log("8 MiB down with --key-update-bytes 1MiB: client received %d KeyUpdates" % seen["read"])
check(7 <= seen["read"] <= 8, "expected a KeyUpdate per MiB, saw %d" % seen["read"])
check(tw.stop() == 0, "tlsward exit status")

tw = Tlsward(server_args(sink, cert, key, "--key-update-bytes", str(MiB)))
ctx, seen = counting_context()
s = tls_client.connect(tw.port, ctx, timeout=30)
s.sendall(b"%d\n" % (6 * MiB))
block = pattern_block()
sent = 0
while sent < 6 * MiB:
    s.sendall(block[: min(len(block), 6 * MiB - sent)])
    sent += min(len(block), 6 * MiB - sent)
answer = s.recv(200).decode()
s.close()
check(answer.split() == [pattern_digest(6 * MiB), str(6 * MiB)], "upload damaged: %r" % answer)
log("6 MiB up: tlsward asked %d times, the client rotated its key %d times"
    % (seen["read"], seen["write"]))
# OpenSSL answers update_requested with its next write, so the request
# that comes with the last megabyte may go unanswered.
check(seen["read"] >= 5 and seen["write"] >= seen["read"] - 1,
      "tlsward did not have the client rotate: read %d write %d" % (seen["read"], seen["write"]))
check(tw.stop() == 0, "tlsward exit status")

echo = Backend("echo")
conf = tmp.file("rotate.toml")
with open(conf, "w") as f:
    f.write("""[[service]]
name = "rotate"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"
key_update_interval = "1s"
""" % (echo.address, cert, key))
tw = Tlsward(["run", "--config", conf])
ctx, seen = counting_context()
s = tls_client.connect(tw.port, ctx, timeout=30)
t0 = time.time()
while time.time() - t0 < 4.5:
    s.sendall(b"tick\n")
    got = b""
    while len(got) < 5:
        got += s.recv(100)
    check(got == b"tick\n", "echo damaged across KeyUpdates")
    time.sleep(0.1)
s.close()
log("4.5 s of ticks with key_update_interval 1s: %d KeyUpdates received" % seen["read"])
check(3 <= seen["read"] <= 5, "expected about one KeyUpdate a second, saw %d" % seen["read"])
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
for b in (source, sink, echo):
    b.stop()
tmp.cleanup()
