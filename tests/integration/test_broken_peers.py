"""Broken peers at every stage of a connection, each against the same
tlsward while a transfer runs on another connection: alerts in the middle
of things (a cut alert record, an alert inside a fragmented handshake
message, an alert record split across TCP segments), resets (RST) during
the ClientHello, while the helper holds the socket, right after the
handshake, in the middle of a record, during a download, and EOF in the
middle of a record. Each ends its own connection only, with the right
alert where one is due; afterwards netproc holds exactly the fds it held
before (nothing leaked) and the transfer is intact."""
import os
import socket
import ssl
import struct
import threading

import tls_client
import tls13_writer
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
tw = Tlsward(server_args(source, cert, key))
netproc = tw.child_pid("tlsward: netproc")
check(netproc, "no netproc")


def fds():
    return len(os.listdir("/proc/%d/fd" % netproc))


fds_before = fds()
SIZE = 32 * 1024 * 1024
result = {}


def transfer():
    s = tls_client.connect(tw.port, timeout=60 * SLOW)
    s.sendall(b"%d\n" % SIZE)
    n, digest = read_digest(s, pause=0.002)
    result["n"] = n
    result["ok"] = digest == pattern_digest(SIZE)


t = threading.Thread(target=transfer)
t.start()


def reset(sock):
    """Closes with RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def expect_alert(what, build, alert):
    mark = tw.mark()
    c = tls13_writer.RawTls13Client(tw.port)
    c.send_raw(build(c))
    data, how = c.read_all()
    c.close()
    check(alert in how.upper().replace(" ", "_"), "%s: expected %s, got %r" % (what, alert, how))
    tw.wait_for(r"event=close .*sent alert %s" % alert.lower(), start=mark, timeout=5 * SLOW)
    log("ok: %s -> %s" % (what, alert))


# --- alerts mid-record -------------------------------------------------------
expect_alert("an alert record of one byte",
             lambda c: c.seal(tls13_writer.ALERT, b"\x02"), "DECODE_ERROR")
expect_alert("an alert inside a fragmented handshake message",
             lambda c: c.seal(tls13_writer.HANDSHAKE, b"\x18\x00") +
             c.seal(tls13_writer.ALERT, b"\x01\x00"), "UNEXPECTED_MESSAGE")
expect_alert("an alert record with trailing bytes",
             lambda c: c.seal(tls13_writer.ALERT, b"\x02\x28\x00"), "DECODE_ERROR")

# A fatal alert split over two TCP segments is still one record: netproc
# waits for the rest, then ends the connection without answering.
mark = tw.mark()
c = tls13_writer.RawTls13Client(tw.port)
rec = c.seal(tls13_writer.ALERT, b"\x02\x28")  # fatal handshake_failure
c.send_raw(rec[:7])
time.sleep(0.2)
c.send_raw(rec[7:])
data, how = c.read_all()
c.close()
tw.wait_for(r"event=close .*reason=\"client sent alert handshake_failure", start=mark,
            timeout=5 * SLOW)
log("ok: a fatal alert split across segments ends the connection (%s)" % how)

# --- resets and EOF at every stage ----------------------------------------------
client_hello = tls_client.client_hello
stages = []

s = socket.create_connection(("127.0.0.1", tw.port))
ch = client_hello()
s.sendall(ch[: len(ch) // 2])
time.sleep(0.1)
reset(s)
stages.append("RST in the middle of the ClientHello")

s = socket.create_connection(("127.0.0.1", tw.port))
s.sendall(client_hello())
s.recv(100)  # the helper answered: it holds the socket now
reset(s)
stages.append("RST while the helper runs the handshake")

c = tls_client.BioClient(tw.port)
reset(c.sock)
stages.append("RST right after the handshake")

c = tls13_writer.RawTls13Client(tw.port)
c.send_raw(c.data(b"x" * 1000)[:300])
time.sleep(0.1)
reset(c.sock)
stages.append("RST in the middle of a record")

c = tls13_writer.RawTls13Client(tw.port)
c.send_raw(c.data(b"x" * 1000)[:300])
c.sock.shutdown(socket.SHUT_WR)
c.read_all()
c.close()
stages.append("EOF in the middle of a record")

c = tls_client.BioClient(tw.port)
c.send(b"%d\n" % (64 << 20))
c.read_all(limit=1 << 20)
reset(c.sock)
stages.append("RST during a download")

for what in stages:
    log("ok: %s" % what)

t.join(timeout=180 * SLOW)
check(result.get("n") == SIZE and result.get("ok"), "parallel transfer damaged: %r" % result)
log("ok: the parallel %d MiB transfer completed intact" % (SIZE >> 20))
# Every broken connection is gone and took its fds with it.
wait_until(lambda: fds() == fds_before, 30 * SLOW,
           "netproc holds %d fds, %d before the broken peers" % (fds(), fds_before))
log("ok: netproc holds %d fds, as before" % fds_before)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
source.stop()
tmp.cleanup()
