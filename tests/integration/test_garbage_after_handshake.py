"""A client that sends garbage after the handshake gets the right alert and
is closed, while a transfer on another connection completes intact."""
import hashlib
import ssl
import threading

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
tw = Tlsward(server_args(source, cert, key))
SIZE = 64 * 1024 * 1024
result = {}


def transfer():
    s = tls_client.connect(tw.port, tls_client.context(cafile=cert), timeout=60)
    s.sendall(b"%d\n" % SIZE)
    h = hashlib.sha256()
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
        time.sleep(0.001)  # a slowish reader, so the transfer spans the attacks
    result["n"] = n
    result["ok"] = h.hexdigest() == pattern_digest(SIZE)


t = threading.Thread(target=transfer)
t.start()

attacks = [
    # (what, raw bytes, the alert we expect back in TLS 1.3 and in TLS 1.2)
    ("random ciphertext in an application_data record",
     b"\x17\x03\x03\x00\x40" + bytes(range(64)), "BAD_RECORD_MAC", "BAD_RECORD_MAC"),
    ("a record too long for TLS", b"\x17\x03\x03\x48\x01" + b"\0" * 0x4801,
     "RECORD_OVERFLOW", "RECORD_OVERFLOW"),
    ("a record of an unknown type", b"\x63\x03\x03\x00\x10" + b"\0" * 16,
     "UNEXPECTED_MESSAGE", "UNEXPECTED_MESSAGE"),
    # TLS 1.3 protects everything in application_data records; in TLS 1.2 a
    # handshake record is protected too, and 4 bytes cannot hold a tag.
    ("a plaintext handshake record after the handshake",
     b"\x16\x03\x03\x00\x04\x01\x00\x00\x00", "UNEXPECTED_MESSAGE", "BAD_RECORD_MAC"),
]
for what, raw, alert13, alert12 in attacks:
    for version, alert in (("1.3", alert13), ("1.2", alert12)):
        mark = tw.mark()
        c = tls_client.BioClient(tw.port, tls_client.context(cafile=cert, version=version))
        c.send_raw(raw)
        data, how = c.read_all()
        c.close()
        check(alert in how.upper().replace(" ", "_"),
              "TLS %s, %s: expected alert %s, got %r" % (version, what, alert, how))
        tw.wait_for(r"event=close .*reason=\"protocol error, sent alert", start=mark,
                    timeout=5 * SLOW)
        log("ok: TLS %s, %s -> %s" % (version, what, alert))

t.join(timeout=120)
check(result.get("n") == SIZE and result.get("ok"),
      "parallel transfer damaged: %r" % result)
log("ok: the parallel 64 MiB transfer completed intact")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
source.stop()
tmp.cleanup()
