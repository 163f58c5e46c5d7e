"""A crypto helper that answers netproc with garbage (a test build's fault
switch, cryptoproc/fault_injection.hpp) is cut off by netproc, killed by the
supervisor and replaced, for each kind of fault: a malformed HANDSHAKE_DONE,
an answer for a job it was never given, a frame whose length field lies,
too many fds, a message type a helper may not send. Only the connection
whose job it was fails; an established connection keeps echoing and new
handshakes succeed right after each replacement."""
import os
import re
import ssl
import sys

import tls_client
from harness import *

if os.environ.get("TLSWARD_FAULT_INJECTION", "0") not in ("1", "ON", "TRUE", "true"):
    log("skipped: this build has no fault injection (cmake -DTLSWARD_FAULT_INJECTION=ON)")
    sys.exit(77)  # CTest: skipped

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key, helpers=2))

established = tls_client.connect(tw.port)


def established_echoes(tag):
    msg = b"still here %s\n" % tag.encode()
    established.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = established.recv(4096)
        check(d, "the established connection closed (%s)" % tag)
        got += d
    check(got == msg, "established connection echoed %r (%s)" % (got, tag))


established_echoes("at start")

FAULTS = [
    ("malformed", r"HANDSHAKE_DONE|truncated|short|decode"),
    ("wrong-job", r"never given"),
    ("length", r"length"),
    ("fds", r"fd"),
    ("type", r"NP_STATUS"),
]
for mode, reason in FAULTS:
    mark = tw.mark()
    helpers_before = {t: p for p, t in tw.children().items() if "crypto" in t}
    # The handshake itself completes (the helper did it); the answer to
    # netproc is the fault, so this connection must end without data.
    got = b""
    try:
        s = tls_client.connect(tw.port, server_name="fault-%s.invalid" % mode, timeout=10 * SLOW)
        s.sendall(b"must not arrive\n")
        got = s.recv(4096)
        s.close()
    except (OSError, ssl.SSLError):
        pass
    check(got == b"", "%s: the faulty helper's connection carried data: %r" % (mode, got))
    line = tw.wait_for(r"event=helper_dropped slot=\d+ generation=\d+ reason=", start=mark,
                       timeout=5 * SLOW)[0]
    check(re.search(reason, line), "%s: netproc's reason does not match %r: %s"
          % (mode, reason, line))
    slot = re.search(r"slot=(\d+)", line).group(1)
    tw.wait_for(r"event=protocol_violation process=crypto\[%s\] .*action=kill" % slot,
                start=mark, timeout=5 * SLOW)
    tw.wait_for(r"event=child_ready process=crypto\[%s\]" % slot, start=mark, timeout=10 * SLOW)
    tw.wait_for(r"event=helper_attached slot=%s " % slot, start=mark, timeout=5 * SLOW)
    old = helpers_before.get("tlsward: crypto[%s]" % slot)
    new = tw.child_pid("tlsward: crypto[%s]" % slot)
    check(new is not None and new != old, "%s: crypto[%s] not replaced" % (mode, slot))
    established_echoes(mode)
    for i in range(6):
        check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n",
              "%s: a new connection failed after the replacement (%d)" % (mode, i))
    log("ok: %s: netproc cut off crypto[%s] (%s), pid %s replaced by %s, service unharmed"
        % (mode, slot, line.split("reason=", 1)[1][:70], old, new))

established.close()
check(tw.stop() == 0, "tlsward did not exit 0")
text = tw.log_text()
for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
    check(bad not in text, "log shows %r" % bad)
check("process=netproc" not in "\n".join(l for l in tw.lines if "child_died" in l),
      "netproc died")
backend.stop()
tmp.cleanup()
