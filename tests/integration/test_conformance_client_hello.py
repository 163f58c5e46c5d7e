"""A ClientHello split over many records (issue 19, item 4; RFC 8446 5.1 lets
a handshake message span records). netproc lends a socket to a helper once
the whole ClientHello has arrived, following the message across handshake
records (netproc/client_hello.cpp); it looked at the first record only, so
a client that sent one small record of its hello and stalled held a
helper's job slot until the deadline. Here, against tlsward end to end:
- hellos one byte per record (TLS 1.3 written byte by byte with a 20- and
  a 1,024-byte padding extension, and OpenSSL's own TLS 1.2 and 1.3 hellos
  re-cut), 20-byte records, and a 40 KiB hello in full records (more than
  netproc waits for: the helper reads the rest) all complete;
- a hello cut into one-byte records that stops half-way is closed by
  netproc at the deadline and no helper ever sees it; one that ends with a
  FIN half-way is closed at once;
- a record of another type inside the hello goes to the helper at once,
  which refuses it (unexpected_message) long before the deadline."""
import re
import socket
import ssl
import time

import tls_client
from tls13_client import CHANGE_CIPHER_SPEC, HANDSHAKE, Tls13Client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path, kind="rsa2048")
backend = Backend("echo")
DEADLINE = 3 * SLOW
tw = Tlsward(server_args(backend, cert, key, "--handshake-timeout", str(DEADLINE)))


def echo_after(c, token):
    c.send(c.finished() + c.data(token))
    events = c.read_records(until=lambda ev: ev[-1][0] == "data")
    c.close()
    return events[-1] == ("data", token)


# Written byte by byte: TLS 1.3, one byte (or 20) per record.
for padding, size in ((20, 1), (1024, 1), (1024, 20), (40 * 1024, 16384)):
    c = Tls13Client(tw.port)
    hello = c.client_hello(padding=padding)
    c.send(c.records(HANDSHAKE, hello, size=size))
    check(c.read_server_hello() == "sh", "no ServerHello")
    c.read_server_flight()
    token = b"padding %d, records of %d\n" % (padding, size)
    check(echo_after(c, token), "no echo after a hello in records of %d bytes" % size)
    log("ok: a ClientHello with %d bytes of padding in %d records of %d bytes: handshake done"
        % (padding, (len(hello) + size - 1) // size, size))


def library_hello(version):
    """OpenSSL's own ClientHello (Python's ssl over memory BIOs), its handshake
    message re-cut into one-byte records, and the handshake finished."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_client.context(version=version).wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    check(hello[0] == HANDSHAKE, "not a handshake record")
    s = socket.create_connection(("127.0.0.1", tw.port), timeout=10)
    s.sendall(Tls13Client.records(HANDSHAKE, hello[5:], size=1))
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(out.read())
            d = s.recv(65536)
            check(d, "tlsward closed during the handshake (TLS %s)" % version)
            inc.write(d)
    obj.write(b"library %s\n" % version.encode())
    s.sendall(out.read())
    got = b""
    while not got.endswith(b"\n"):
        try:
            got += obj.read(100)
        except ssl.SSLWantReadError:
            inc.write(s.recv(65536))
    s.close()
    return got, obj.version()


for version in ("1.2", "1.3"):
    got, negotiated = library_hello(version)
    check(got == b"library %s\n" % version.encode(), "echo %r" % got)
    log("ok: OpenSSL's %s ClientHello in one-byte records: handshake done" % negotiated)


def conn_of(line):
    return re.search(r"conn=(\d+)", line).group(1)


# Half a hello in one-byte records, then nothing: netproc's deadline, no helper.
mark = tw.mark()
c = Tls13Client(tw.port)
wire = c.records(HANDSHAKE, c.client_hello(padding=200), size=1)
c.send(wire[: len(wire) // 2])
start = time.time()
line = tw.wait_for(r"event=close .*reason=\"handshake timeout: the ClientHello did not arrive",
                   start=mark, timeout=DEADLINE + 10 * SLOW)[0]
took = time.time() - start
conn = conn_of(line)
check(tw.count(r"crypto\[\d+\].*event=handshake_failed conn=%s " % conn, start=mark) == 0,
      "a helper took the stalled hello:\n%s" % tw.log_text())
check(took >= DEADLINE - 1, "closed after %.1f s, before the deadline" % took)
c.close()
log("ok: half a ClientHello in one-byte records, then silence: netproc closed it at the "
    "deadline (%.1f s), no helper saw it" % took)

# Half a hello, then FIN: closed at once.
mark = tw.mark()
c = Tls13Client(tw.port)
wire = c.records(HANDSHAKE, c.client_hello(), size=1)
c.send(wire[: len(wire) // 3])
c.sock.shutdown(socket.SHUT_WR)
line = tw.wait_for(r"event=close .*peer_closed before its ClientHello was complete", start=mark,
                   timeout=DEADLINE - 1)[0]
check(tw.count(r"crypto\[\d+\].*conn=%s " % conn_of(line), start=mark) == 0,
      "a helper took the half hello")
c.close()
log("ok: half a ClientHello and a FIN: closed at once by netproc")

# A ChangeCipherSpec inside the hello: the helper's to refuse, at once.
mark = tw.mark()
c = Tls13Client(tw.port)
msg = c.client_hello()
c.send(c.records(HANDSHAKE, msg[:40], size=4) + c.change_cipher_spec() +
       c.records(HANDSHAKE, msg[40:]))
start = time.time()
try:
    c.read_server_hello()
    fail("a ServerHello for a hello with a ChangeCipherSpec inside")
except Exception as e:
    what = getattr(e, "what", repr(e))
took = time.time() - start
c.close()
check(what == "alert unexpected_message", "a ChangeCipherSpec inside the hello: %s" % what)
check(took < DEADLINE - 1, "refused after %.1f s" % took)
tw.wait_for(r"crypto\[\d+\].*event=handshake_failed .*alert=10", start=mark, timeout=5 * SLOW)
log("ok: a ChangeCipherSpec (type %d) inside the hello went to a helper at once: %s in %.2f s"
    % (CHANGE_CIPHER_SPEC, what, took))

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
