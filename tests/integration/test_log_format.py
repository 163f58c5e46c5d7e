"""Every line tlsward writes parses as logfmt (tests/integration/logfmt.py, a
strict parser) while peers and the configuration feed it hostile text, and
each value reads back as the bytes that were put in it:

- a client certificate whose CN holds quotes, a backslash and a bidi
  override, allowed by allow_cn (the close line's peer_cn);
- a refused client certificate whose CN has a newline and a forged pair,
  and whose DNS name holds bytes that are not UTF-8 (the helper's detail,
  netproc's close reason);
- an ALPN offer with quotes, a backslash and a space that the service
  does not speak; a ClientHello whose server_name holds a quote, a
  backslash and bytes that are not UTF-8;
- reloads that fail on a duration with a quote in it, a target name with
  quotes and a backslash, and a certificate path with a quote, a newline
  and a bidi override (event=reload_failed), and a start that fails on it;
- the same under systemd: journal records whose MESSAGE is the escaped
  line and whose fields hold the values unescaped, a newline in the
  binary form of the native protocol."""
import os
import socket
import ssl
import struct
import threading
import time

import logfmt
import tls_client
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography import x509
from harness import *
from tls_certs import _write, issue, make_ca

tmp = TempDir()
server_cert, server_key = make_cert(tmp.path)
clients = make_ca(tmp.path, "clients CA")
echo = Backend("echo")

EVE_CN = 'eve" peer_cn="admin\\ caf\u00e9 \u202eevil'
eve = issue(tmp.path, "eve", clients, EVE_CN, client=True)


def _der_element(data, i):
    """(start of content, end) of the DER element at data[i]."""
    n = data[i + 1]
    if n < 0x80:
        return i + 2, i + 2 + n
    k = n & 0x7f
    length = int.from_bytes(data[i + 2:i + 2 + k], "big")
    return i + 2 + k, i + 2 + k + length


def _der_header(tag, length):
    if length < 0x80:
        return bytes([tag, length])
    b = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b


def with_raw_dns_name(issued, placeholder, raw, ca):
    """`issued` with the DNS name `placeholder` replaced by the bytes `raw`
    (as long; an IA5String holds any byte for a parser that does not
    check), signed again by `ca`: no library makes such a certificate."""
    der = issued.cert.public_bytes(serialization.Encoding.DER)
    _, end = _der_element(der, 0)
    tbs_start = _der_element(der, 0)[0]
    tbs_end = _der_element(der, tbs_start)[1]
    alg_end = _der_element(der, tbs_end)[1]
    tbs = der[tbs_start:tbs_end]
    check(len(raw) == len(placeholder) and tbs.count(placeholder) == 1, "placeholder")
    tbs = tbs.replace(placeholder, raw)
    sig = ca.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    bits = _der_header(0x03, len(sig) + 1) + b"\x00" + sig
    body = tbs + der[tbs_end:alg_end] + bits
    cert = x509.load_der_x509_certificate(_der_header(0x30, len(body)) + body)
    return _write(tmp.path, "mallory-raw", cert, issued.key)


RAW_DNS = b'm\xff\xfe"x\\y z=w.test'
mallory = issue(tmp.path, "mallory", clients, 'mallory\n" event=forged',
                dns=["p" * len(RAW_DNS)], client=True)
mallory = with_raw_dns_name(mallory, b"p" * len(RAW_DNS), RAW_DNS, clients)


def toml_string(s):
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif ch == "\n":
            out += "\\n"
        else:
            out += ch
    return out + '"'


def config(extra="", target=None, cert=None):
    return ("[[service]]\nname = \"web\"\nlisten = \"127.0.0.1:%d\"\ntarget = %s\n"
            "cert = %s\nkey = %s\nclient_ca = %s\nallow_cn = [%s]\nalpn = [\"h2\", \"http/1.1\"]\n"
            "%s\n" % (PORT, toml_string(target or echo.address),
                      toml_string(cert or server_cert), toml_string(server_key),
                      toml_string(clients.crt), toml_string(EVE_CN), extra))


def client_ctx(who, alpn=None):
    ctx = tls_client.context()
    ctx.load_cert_chain(who.crt, who.key_path)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def attempt(ctx, payload=b"hello"):
    """A connection with `ctx`: the echo, or b"" if the handshake failed."""
    try:
        s = tls_client.connect(PORT, ctx, timeout=10 * SLOW)
        s.sendall(payload)
        got = s.recv(len(payload))
        s.close()
        return got
    except (ssl.SSLError, OSError):
        return b""


def raw_hello(name):
    """A real ClientHello whose server_name is the bytes `name`."""
    placeholder = "q" * len(name)
    hello = tls_client.client_hello(placeholder)
    check(hello.count(placeholder.encode()) == 1, "placeholder in the ClientHello")
    return hello.replace(placeholder.encode(), name)


ODD_SNI = b'a"b\\c\xff\xfe.test'
BAD_PATH = os.path.join(tmp.path, 'we"ird\\dir\n\u202ecert.pem')
BAD_TARGET = 'no"such\\host.invalid:80'


def hostile_traffic(tw, check_values):
    """Drives the hostile inputs through `tw`; with `check_values`, checks
    that the lines carry them (stderr)."""
    mark = tw.mark()
    check(attempt(client_ctx(eve)) == b"hello", "eve's connection:\n" + tw.log_text())
    check(attempt(client_ctx(mallory)) == b"", "mallory got through")
    check(attempt(client_ctx(eve, ['x"y\\z w'])) == b"", "a foreign ALPN got through")
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10 * SLOW)
    s.sendall(raw_hello(ODD_SNI))
    try:
        s.recv(64)
    except OSError:
        pass
    s.close()
    if check_values:
        line = tw.wait_for(r"event=close .*peer_cn=", start=mark)[0]
        got = logfmt.fields(logfmt.split_line(line)[2])["peer_cn"]
        check(got == EVE_CN, "peer_cn read back as %r, not %r" % (got, EVE_CN))
        check("\u202e" not in line, "a bidi override left unescaped: %r" % line)
        line = tw.wait_for(r"event=handshake_failed .*mallory", start=mark)[0]
        check("event=forged" not in dict(logfmt.parse(logfmt.split_line(line)[2])),
              "a forged pair")
        tw.wait_for(r"event=handshake_failed .*no common ALPN protocol", start=mark)
        tw.wait_for(r"event=handshake_failed .*malformed server_name", start=mark)
        log("ok: hostile CN, DNS name, ALPN offer and server_name through the log")
    for broken, what in ((config('handshake_timeout = "one\\""'), 'got \\"one\\\\\\"\\"'),
                         (config(target=BAD_TARGET), "cannot resolve"),
                         (config(cert=BAD_PATH), "we")):
        write_file(CONF, broken)
        mark = tw.mark()
        r = cli("reload", "--control", CTL)
        check(r.returncode != 0, "a broken configuration was taken")
        if check_values:
            line = tw.wait_for(r"event=reload_failed", start=mark)[0]
            check(what in line, "%r not in %r" % (what, line))
    write_file(CONF, config())


def check_lines(lines, what):
    """Every line parses; returns how many did."""
    n = 0
    for line in lines:
        split = logfmt.split_line(line)
        check(split is not None, "%s: not a tlsward line: %r" % (what, line))
        check("\ufffd" not in line, "%s: bytes that are not UTF-8 in %r" % (what, line))
        try:
            pairs = logfmt.parse(split[2])
        except logfmt.ParseError as e:
            fail("%s: %s" % (what, e))
        check(pairs[0][0] == "event", "%s: the first key is not event: %r" % (what, line))
        check(pairs[0][1] != b"log_line_malformed", "%s: a malformed format: %r" % (what, line))
        n += 1
    return n


PORT = free_port()
CONF = tmp.file("tlsward.toml")
CTL = tmp.file("control")
write_file(CONF, config())
tw = Tlsward(["run", "--config", CONF, "--control", CTL])
hostile_traffic(tw, check_values=True)
mallory_line = next(l for l in tw.lines if "event=handshake_failed" in l and "mallory" in l)
detail = dict(logfmt.parse(logfmt.split_line(mallory_line)[2]))["detail"]
check(RAW_DNS in detail and b'CN=mallory?" event=forged' in detail,
      "the detail does not hold the DNS name's bytes: %r" % detail)
log("ok: the DNS name's bytes that are not UTF-8 read back from \\xNN: %r" % detail)
line = next(l for l in tw.lines if "event=reload_failed" in l and "ird" in l)
reason = dict(logfmt.parse(logfmt.split_line(line)[2]))["reason"]
check(BAD_PATH.encode() in reason, "the path is not in the reason: %r" % reason)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
n = check_lines(tw.lines, "stderr")
log("ok: %d lines on stderr, each one logfmt line, values as they were" % n)

# A start that fails on the same path.
write_file(CONF, config(cert=BAD_PATH))
bad = Tlsward(["run", "--config", CONF, "--control", CTL], wait_ready=False)
bad.wait_for(r"event=start_failed .*we", timeout=20 * SLOW)
check(bad.proc.wait(timeout=20 * SLOW) != 0, "tlsward started with a missing certificate")
wait_until(lambda: bad.eof, 10, "the end of a failed start's output")
check_lines(bad.lines, "start")
# ... and one that fails on a value of the file itself.
write_file(CONF, config('handshake_timeout = "one\\""'))
bad = Tlsward(["run", "--config", CONF, "--control", CTL], wait_ready=False)
bad.wait_for(r'event=start_failed .*got \\"one\\\\\\"\\"', timeout=20 * SLOW)
check(bad.proc.wait(timeout=20 * SLOW) != 0, "tlsward started with a bad duration")
wait_until(lambda: bad.eof, 10, "the end of a failed start's output")
check_lines(bad.lines, "start")
log("ok: a failed start's line parses")

# Under systemd: journal records from a stand-in journald socket.
jpath = tmp.file("journal.sock")
journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
journal.bind(jpath)
journal.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
records = []
cond = threading.Condition()


def read_record(d):
    """[(name, value bytes)] of a native-protocol datagram, strictly."""
    out, i = [], 0
    while i < len(d):
        nl = d.index(b"\n", i)
        line = d[i:nl]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            i = nl + 1
        else:
            name = line
            (size,) = struct.unpack("<Q", d[nl + 1:nl + 9])
            value = d[nl + 9:nl + 9 + size]
            check(d[nl + 9 + size:nl + 10 + size] == b"\n", "binary field not ended by a newline")
            i = nl + 10 + size
        out.append((name.decode(), value))
    return out


def receive():
    while True:
        try:
            d = journal.recv(1 << 16)
        except OSError:
            return
        with cond:
            records.append(read_record(d))
            cond.notify_all()


threading.Thread(target=receive, daemon=True).start()
write_file(CONF, config())
as_journal_stream = ("sh", "-c",
                     'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" "$@"')
tw = Tlsward(["run", "--config", CONF, "--control", CTL], wait_ready=False,
             env={"TLSWARD_JOURNAL_SOCKET": jpath}, wrapper=as_journal_stream)
wait_until(lambda: cli("status", "--control", CTL).returncode == 0, 20 * SLOW, "tlsward up")
hostile_traffic(tw, check_values=False)


def record_with(pred):
    with cond:
        return next((dict(r) for r in records if pred(dict(r))), None)


close = wait_until(lambda: record_with(lambda r: r.get("EVENT") == b"close" and
                                       r.get("PEER_CN", b"") != b""), 10 * SLOW,
                   lambda: "no close record with PEER_CN: %s" % records[-5:])
check(close["PEER_CN"] == EVE_CN.encode(), "PEER_CN %r" % close["PEER_CN"])
failed = wait_until(lambda: record_with(lambda r: r.get("EVENT") == b"reload_failed" and
                                        BAD_PATH.encode() in r.get("REASON", b"")),
                    10 * SLOW, lambda: "no reload_failed record with the path: %s" % records[-5:])
check(b"\n" in failed["REASON"], "the path's newline is not in REASON")
helper = record_with(lambda r: r.get("EVENT") == b"handshake_failed" and
                     RAW_DNS in r.get("DETAIL", b""))
check(helper is not None, "no helper record with the raw DNS name")
check(tw.stop() == 0, "tlsward exit status")
with cond:
    for r in records:
        fields = dict(r)
        role = fields["ROLE"].decode()
        message = fields["MESSAGE"]
        check(message.startswith(role.encode() + b": "), "MESSAGE %r" % message)
        pairs = logfmt.parse(message[len(role) + 2:])
        for key, value in pairs:
            name = key.upper()
            if name not in ("MESSAGE", "PRIORITY", "ROLE", "SYSLOG_IDENTIFIER"):
                check(fields.get(name) == value, "%s: field %r, line %r" %
                      (name, fields.get(name), value))
    n = len(records)
check_lines([l for l in tw.lines if l.strip()], "stderr under systemd")
log("ok: %d journal records: MESSAGE parses, every field is its value unescaped "
    "(a newline in the binary form)" % n)
journal.close()
echo.stop()
tmp.cleanup()
