"""LeakSanitizer over whole runs of every process (sanitizer build only).
Sandboxed children cannot run LeakSanitizer's at-exit check (it needs
ptrace, which seccomp and RLIMIT_NPROC 0 forbid; see docs/testing.md), so
they check start-up only. Here TLSWARD_SANITIZER_LEAK_RUN=1 makes them skip
the sandbox (read only by sanitizer builds), and a run exercises the
paths that allocate: handshakes of both versions, proxied data, KeyUpdates,
garbage after the handshake, a helper cut off for misbehaving (fault
injection) and replaced, a reload; then SIGTERM, and every process exits
through its at-exit leak check.

The first run proves the check is live: a helper leaks 4 KiB on purpose
(fault-leak.invalid) and LeakSanitizer must report it. The second run,
without that, must report nothing."""
import re
import ssl

import tls_client
import tls13_writer
from harness import *

if not SANITIZED:
    log("skipped: LeakSanitizer runs in the sanitizer build (build-asan)")
    sys.exit(77)
if os.environ.get("TLSWARD_FAULT_INJECTION", "0") not in ("1", "ON", "TRUE", "true"):
    log("skipped: this build has no fault injection (cmake -DTLSWARD_FAULT_INJECTION=ON)")
    sys.exit(77)

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
ENV = {"TLSWARD_SANITIZER_LEAK_RUN": "1",
       "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
       "LSAN_OPTIONS": "exitcode=23"}


def run(leak_on_purpose):
    tw = Tlsward(server_args(backend, cert, key, "--control", tmp.file("ctl.sock"),
                             "--key-update-bytes", "64KiB"), env=ENV)
    check(tw.count(r"event=sandbox_skipped") >= 3, "children did not skip the sandbox")
    for version in ("1.3", "1.2"):
        for _ in range(3):
            got = tls_client.echo_round_trip(tw.port, b"x" * 200000,
                                             tls_client.context(version=version), timeout=30)
            check(len(got) == 200000, "TLS %s echo: %d bytes" % (version, len(got)))
    c = tls13_writer.RawTls13Client(tw.port)
    c.send_raw(b"".join(c.key_update(True) for _ in range(40)))
    c.read_all()
    c.close()
    c = tls_client.BioClient(tw.port)
    c.send_raw(b"\x17\x03\x03\x00\x40" + bytes(64))
    c.read_all()
    c.close()
    mark = tw.mark()
    try:
        tls_client.connect(tw.port, server_name="fault-malformed.invalid").close()
    except (OSError, ssl.SSLError):
        pass
    tw.wait_for(r"event=child_ready process=crypto", start=mark, timeout=20 * SLOW)
    if leak_on_purpose:
        tls_client.connect(tw.port, server_name="fault-leak.invalid").close()
    mark = tw.mark()
    check(cli("reload", "--control", tmp.file("ctl.sock")).returncode == 0, "reload failed")
    tw.wait_for(r"event=reloaded", start=mark, timeout=30 * SLOW)
    # The old generation's helpers exit through their leak check (slow under
    # ASan): wait, or the SIGTERM below would kill them in the middle of it.
    tw.wait_for(r"event=helper_exited process=crypto\[\d\] generation=1 ", start=mark,
                count=2, timeout=60 * SLOW)
    check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n", "no echo at the end")
    tw.stop()
    return tw


tw = run(leak_on_purpose=True)
text = "\n".join(tw.lines)
check("ERROR: LeakSanitizer: detected memory leaks" in text and "leak_on_purpose" in text,
      "the helper's deliberate leak was not reported: LeakSanitizer is not live in children:\n"
      + tw.log_text())
log("ok: the deliberate 4 KiB leak in a helper was reported at its exit")

tw = run(leak_on_purpose=False)
text = "\n".join(tw.lines)
check("ERROR: LeakSanitizer" not in text, "LeakSanitizer found leaks:\n%s" % "\n".join(
    l for l in tw.lines if "Leak" in l or "#" in l)[:6000])
# Every child but the one killed for misbehaving ran its at-exit check to
# the end: it exited by itself, with status 0.
exits = [l for l in tw.lines if re.search(r"event=(child|helper)_exited ", l)]
check(len(exits) >= 5 and all('status="exit status 0"' in l for l in exits),
      "children that did not exit cleanly:\n%s" % "\n".join(exits))
log("ok: no leak in the supervisor, netproc or the helpers over a whole run (%d children "
    "exited through their leak check)" % len(exits))
backend.stop()
tmp.cleanup()
