"""Client mode against `openssl s_server`: plaintext in, TLS out. With the
right CA and name the server's reversed answer comes back (TLS 1.3 and
1.2), the SNI, ALPN offer and client certificate reach the server; a wrong
name, an untrusted CA and a pin mismatch are each refused, the plaintext
client is disconnected, and the log names the reason.

Needs netproc's client-mode wiring (connect to the target, lend the fd
with role=client)."""
import atexit
import socket
import subprocess
import time

from harness import *
from tls_certs import issue, make_ca

tmp = TempDir()
ca = make_ca(tmp.path, "backend CA")
server = issue(tmp.path, "backend", ca, "backend", dns=["backend.test"], ips=["127.0.0.1"])
other_ca = make_ca(tmp.path, "other CA")
other = issue(tmp.path, "other", other_ca, "other", dns=["backend.test"])
clients = make_ca(tmp.path, "clients CA")
me = issue(tmp.path, "me", clients, "tlsward-client", client=True)


class SServer:
    """openssl s_server -rev on 127.0.0.1 (this test started it; it stops it by pid)."""

    def __init__(self, *extra):
        self.port = free_port()
        self.out = open(tmp.file("s_server-%d.log" % self.port), "w+")
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-rev", "-accept", "127.0.0.1:%d" % self.port, "-cert",
             server.crt, "-key", server.key_path, *extra],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        wait_until(lambda: self._listening(), 10, "s_server listening")

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def text(self):
        self.out.flush()
        with open(self.out.name) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def talk(port, payload=b"hello tlsward\n", timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(payload)
    got = b""
    try:
        while not got.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return got


def client(target_port, *extra, helpers=1):
    return Tlsward(["client", "--listen", "127.0.0.1:0", "--target",
                    "127.0.0.1:%d" % target_port, "--helpers", str(helpers), *extra])


# Good certificate and name, both versions, SNI and ALPN as configured.
for version_flag in ("-tls1_3", "-tls1_2"):
    srv = SServer(version_flag, "-alpn", "http/1.1")
    tw = client(srv.port, "--ca", ca.crt, "--server-name", "backend.test", "--alpn", "h2,http/1.1")
    for _ in range(3):
        got = talk(tw.port)
        check(got == b"drawslt olleh\n", "%s: expected the reversed line, got %r:\n%s"
              % (version_flag, got, tw.log_text()))
    text = srv.text()
    # s_server -rev does not print the offer; what it chose from it is on
    # tlsward's close line.
    tw.wait_for(r'event=close .*alpn="http/1.1"', count=3, timeout=5 * SLOW)
    check("TLSv1.3" in text if version_flag == "-tls1_3" else "TLSv1.2" in text,
          "s_server: wrong version:\n%s" % text)
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
    srv.stop()
    log("ok: %s round trip through the client tunnel, ALPN http/1.1 negotiated" % version_flag)

# Verification by IP address (the target's, no SNI).
srv = SServer()
tw = client(srv.port, "--ca", ca.crt)
check(talk(tw.port) == b"drawslt olleh\n", "verification by IP failed:\n%s" % tw.log_text())
check(tw.stop() == 0, "tlsward exit status")
log("ok: the target's IP address verified")

# Refusals, each with its reason in the log.
refusals = [
    (["--ca", ca.crt, "--server-name", "wrong.test"],
     r'hostname mismatch.*expected \\"wrong.test\\"', "wrong name"),
    (["--ca", other_ca.crt, "--server-name", "backend.test"],
     r"server certificate refused: unable to get local issuer certificate", "untrusted CA"),
    (["--ca", ca.crt, "--server-name", "backend.test", "--pin-spki", other.spki_sha256],
     r"matches no pin_spki", "pin mismatch"),
]
for flags, reason, what in refusals:
    tw = client(srv.port, *flags)
    mark = tw.mark()
    got = talk(tw.port)
    check(got == b"", "%s: data came back: %r" % (what, got))
    # The target is the deployment's own: its refusal is a warning.
    tw.wait_for(r"warn crypto\[0\]\[\d+\]: event=handshake_failed .*" + reason, start=mark)
    check(tw.stop() == 0, "tlsward exit status")
    tw.check_clean_log()
    log("ok: %s refused, reason logged" % what)

# The right pin.
tw = client(srv.port, "--ca", ca.crt, "--server-name", "backend.test", "--pin-spki",
            server.spki_sha256)
check(talk(tw.port) == b"drawslt olleh\n", "the right pin was refused:\n%s" % tw.log_text())
check(tw.stop() == 0, "tlsward exit status")
srv.stop()
log("ok: the right pin accepted")

# A client certificate for a server that requires one.
srv = SServer("-Verify", "1", "-CAfile", clients.crt)
tw = client(srv.port, "--ca", ca.crt, "--server-name", "backend.test", "--client-cert", me.crt,
            "--client-key", me.key_path)
check(talk(tw.port) == b"drawslt olleh\n", "mTLS to the target failed:\n%s" % tw.log_text())
time.sleep(0.2)
check("tlsward-client" in srv.text(), "s_server did not see the client certificate:\n%s"
      % srv.text())
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
srv.stop()
log("ok: client certificate presented to the target")
tmp.cleanup()
