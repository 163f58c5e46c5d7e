"""Small TLS clients built on Python's ssl module (OpenSSL underneath)."""

import socket
import ssl


def context(cafile=None, version=None, ciphers=None):
    ctx = ssl.create_default_context()
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif version == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def connect(port, ctx=None, server_name="localhost", timeout=10):
    ctx = ctx or context()
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=server_name)


def request(port, payload=b"ping\n", ctx=None, timeout=10):
    """Sends payload, returns everything until the server closes."""
    s = connect(port, ctx, timeout=timeout)
    s.sendall(payload)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def echo_round_trip(port, payload=b"hello through tlsward\n", ctx=None, timeout=10):
    """With an echo backend: sends, reads the same bytes back."""
    s = connect(port, ctx, timeout=timeout)
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    return got


def client_hello(server_name="localhost", ctx=None):
    """The bytes of a real ClientHello (Python's ssl over memory BIOs), for
    clients that start a handshake and then stall."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = (ctx or context()).wrap_bio(inc, out, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class BioClient:
    """A TLS client driven through memory BIOs, so a test controls exactly
    what goes on the wire: raw garbage after the handshake, a close_notify
    while still reading (half-close), and the alerts that come back."""

    def __init__(self, port, ctx=None, server_name="localhost", timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = (ctx or context()).wrap_bio(self.inc, self.out, server_hostname=server_name)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            self.inc.write_eof()
            return False
        self.inc.write(d)
        return True

    def send(self, data):
        self.obj.write(data)
        self._flush()

    def send_raw(self, data):
        self.sock.sendall(data)

    def close_notify(self):
        """Sends close_notify and keeps reading (TLS half-close)."""
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        self._flush()

    def read_all(self, limit=None):
        """Reads application data until the server's close_notify or EOF.
        Returns (data, how): how is "close_notify", "eof" or the SSL error."""
        chunks = []
        total = 0
        while True:
            try:
                d = self.obj.read(1 << 20)
                if not d:
                    return b"".join(chunks), "close_notify"
                chunks.append(d)
                total += len(d)
                if limit and total >= limit:
                    return b"".join(chunks), "limit"
            except ssl.SSLWantReadError:
                if not self._fill():
                    try:
                        self.obj.read(1)
                    except ssl.SSLError as e:
                        return b"".join(chunks), "eof: %s" % e
                    return b"".join(chunks), "eof"
            except ssl.SSLZeroReturnError:
                return b"".join(chunks), "close_notify"
            except ssl.SSLError as e:
                return b"".join(chunks), str(e)

    def close(self):
        self.sock.close()
