"""PROXY protocol towards the target: a backend that parses the header itself
(independently of tlsward's encoder) sees the real client address and port,
the address it connected to, and in v2 the TLS TLVs: ALPN, AUTHORITY (the
SNI), and SSL with the version, the client certificate's CN, the cipher and
"verified". v1 carries the addresses. With --accept-proxy, the header a load
balancer put in front of the ClientHello is what the backend sees, and a
connection without one is closed.

Needs netproc's PROXY wiring (netproc/proxy_protocol.hpp)."""
import socket
import ssl
import struct
import threading

from harness import *
from tls_certs import issue, make_ca

SIG = b"\r\n\r\n\x00\r\nQUIT\n"

tmp = TempDir()
ca = make_ca(tmp.path, "proxy test CA")
server = issue(tmp.path, "server", ca, "localhost", dns=["localhost"], ips=["127.0.0.1"])
alice = issue(tmp.path, "alice", ca, "alice", client=True)


def read_exact(c, n):
    out = b""
    while len(out) < n:
        d = c.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def parse_tlvs(data):
    tlvs = []
    while data:
        t, n = data[0], struct.unpack("!H", data[1:3])[0]
        tlvs.append((t, data[3:3 + n]))
        data = data[3 + n:]
    return tlvs


def read_header(c):
    """The PROXY header at the start of a connection, as a dict."""
    first = read_exact(c, 6)
    if first == b"PROXY ":
        line = first
        while not line.endswith(b"\r\n"):
            line += read_exact(c, 1)
            if len(line) > 107:
                raise ValueError("v1 line too long")
        parts = line.decode().rstrip("\r\n").split(" ")
        return {"version": 1, "proto": parts[1], "src": (parts[2], int(parts[4])),
                "dst": (parts[3], int(parts[5]))}
    head = first + read_exact(c, 10)
    if head[:12] != SIG:
        raise ValueError("no PROXY header: %r" % head)
    ver_cmd, fam, length = head[12], head[13], struct.unpack("!H", head[14:16])[0]
    body = read_exact(c, length)
    h = {"version": 2, "command": ver_cmd & 0x0f, "family": fam}
    if fam == 0x11:
        src, dst, sp, dp = body[0:4], body[4:8], *struct.unpack("!HH", body[8:12])
        h["src"] = (socket.inet_ntop(socket.AF_INET, src), sp)
        h["dst"] = (socket.inet_ntop(socket.AF_INET, dst), dp)
        rest = body[12:]
    elif fam == 0x21:
        src, dst, sp, dp = body[0:16], body[16:32], *struct.unpack("!HH", body[32:36])
        h["src"] = (socket.inet_ntop(socket.AF_INET6, src), sp)
        h["dst"] = (socket.inet_ntop(socket.AF_INET6, dst), dp)
        rest = body[36:]
    else:
        rest = body
    h["tlvs"] = {}
    for t, v in parse_tlvs(rest):
        if t == 0x20:
            h["ssl_client"], h["ssl_verify"] = v[0], struct.unpack("!I", v[1:5])[0]
            h["ssl"] = {st: sv.decode() for st, sv in parse_tlvs(v[5:])}
        else:
            h["tlvs"][t] = v.decode()
    return h


class ProxyBackend:
    """Reads the PROXY header, keeps it, reads a line, answers "proxied\n" and closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.headers = []
        self.errors = []
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                h = read_header(c)
                with self.cond:
                    self.headers.append(h)
                    self.cond.notify_all()
                # Read the request before answering and closing: closing with
                # unread bytes makes the kernel reset the connection, which
                # can discard the answer on its way.
                line = b""
                while not line.endswith(b"\n"):
                    d = c.recv(100)
                    if not d:
                        break
                    line += d
                c.sendall(b"proxied\n")
            except (ValueError, EOFError, OSError) as e:
                with self.cond:
                    self.errors.append(str(e))
                    self.cond.notify_all()
            c.close()

    def next_header(self, count):
        with self.cond:
            self.cond.wait_for(lambda: len(self.headers) + len(self.errors) >= count, 10)
            check(not self.errors, "backend: %s" % self.errors)
            check(len(self.headers) >= count, "the backend got no header")
            return self.headers[count - 1]


def tls_request(port, cert=None, alpn=None, prefix=b""):
    ctx = ssl.create_default_context(cafile=ca.crt)
    if cert:
        ctx.load_cert_chain(cert.crt, cert.key_path)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    local = raw.getsockname()
    if prefix:
        raw.sendall(prefix)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"hi\n")
    got = b""
    while not got.endswith(b"\n"):
        d = s.recv(100)
        if not d:
            break
        got += d
    info = (s.version(), s.cipher()[0])
    s.close()
    return local, got, info


backend = ProxyBackend()
base = ["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--helpers", "1",
        "--cert", server.crt, "--key", server.key_path]

# v2 with the TLS TLVs, a client certificate, ALPN and SNI.
tw = Tlsward(base + ["--proxy-protocol", "v2", "--client-ca", ca.crt, "--verify-client",
                     "optional", "--alpn", "h2,http/1.1"])
local, got, (version, cipher) = tls_request(tw.port, cert=alice, alpn=["http/1.1"])
check(got == b"proxied\n", "no answer through tlsward: %r" % got)
h = backend.next_header(1)
check(h["version"] == 2 and h["command"] == 1 and h["family"] == 0x11, "header: %s" % h)
check(h["src"] == local, "source %s, the client was %s" % (h["src"], local))
check(h["dst"] == ("127.0.0.1", tw.port), "destination %s" % (h["dst"],))
check(h["tlvs"].get(0x01) == "http/1.1", "ALPN TLV: %s" % h["tlvs"])
check(h["tlvs"].get(0x02) == "localhost", "AUTHORITY TLV: %s" % h["tlvs"])
check(h["ssl_client"] == 0x07 and h["ssl_verify"] == 0, "SSL client/verify: %s" % h)
check(h["ssl"].get(0x21) == version, "SSL_VERSION %s, the client has %s" % (h["ssl"], version))
check(h["ssl"].get(0x22) == "alice", "SSL_CN: %s" % h["ssl"])
check(h["ssl"].get(0x23) == cipher, "SSL_CIPHER %s, the client has %s" % (h["ssl"], cipher))
log("ok: PROXY v2 with ALPN, AUTHORITY and SSL TLVs (CN alice, %s, %s)" % (version, cipher))
local, got, _ = tls_request(tw.port)  # no certificate, no ALPN
h = backend.next_header(2)
check(h["ssl_client"] == 0x01 and h["ssl_verify"] != 0 and 0x22 not in h["ssl"]
      and 0x01 not in h["tlvs"], "without a certificate: %s" % h)
log("ok: PROXY v2 without a client certificate says so")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

# v1.
tw = Tlsward(base + ["--proxy-protocol", "v1"])
local, got, _ = tls_request(tw.port)
check(got == b"proxied\n", "no answer through tlsward (v1): %r" % got)
h = backend.next_header(3)
check(h == {"version": 1, "proto": "TCP4", "src": local, "dst": ("127.0.0.1", tw.port)},
      "v1 header: %s" % h)
log("ok: PROXY v1")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

# Behind a load balancer: its header (v2, then v1) before the ClientHello.
tw = Tlsward(base + ["--accept-proxy", "--proxy-protocol", "v2"])
lb_v2 = (SIG + bytes([0x21, 0x11]) + struct.pack("!H", 12) + socket.inet_aton("203.0.113.7")
         + socket.inet_aton("198.51.100.1") + struct.pack("!HH", 4242, 443))
local, got, _ = tls_request(tw.port, prefix=lb_v2)
check(got == b"proxied\n", "no answer behind a v2 load balancer: %r" % got)
h = backend.next_header(4)
check(h["src"] == ("203.0.113.7", 4242) and h["dst"] == ("198.51.100.1", 443),
      "the load balancer's addresses were not passed on: %s" % h)
local, got, _ = tls_request(tw.port, prefix=b"PROXY TCP4 192.0.2.9 192.0.2.1 5555 443\r\n")
h = backend.next_header(5)
check(got == b"proxied\n" and h["src"] == ("192.0.2.9", 5555), "v1 from the balancer: %r %s" % (got, h))
log("ok: accepted PROXY v2 and v1 headers passed on")
mark = tw.mark()
raw = socket.create_connection(("127.0.0.1", tw.port), timeout=10)
raw.sendall(b"\x16\x03\x01\x00\x05hello")
raw.settimeout(10)
try:
    # Closed with the ClientHello unread, the socket may reset rather than end.
    closed = raw.recv(100) == b""
except ConnectionResetError:
    closed = True
check(closed, "a connection without a PROXY header was not closed")
raw.close()
tw.wait_for(r"event=close .*PROXY", start=mark)
log("ok: a connection without a PROXY header is closed")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
tmp.cleanup()
