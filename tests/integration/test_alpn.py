"""ALPN: the service's list, in its order of preference, is what
`openssl s_client -alpn` and curl see; a client with no protocol in common
gets no_application_protocol (and the log says why); a client without ALPN
is served."""
import re
import subprocess

from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("http", body=b"alpn ok\n")
tw = Tlsward(server_args(backend, cert, key, "--alpn", "h2,http/1.1", helpers=1))


def s_client(*extra):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % tw.port,
                        "-servername", "localhost", "-CAfile", cert, "-ign_eof", *extra],
                       input=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


for offer, want in [("http/1.1,h2", "h2"), ("http/1.1", "http/1.1"), ("h2", "h2")]:
    code, out = s_client("-alpn", offer)
    m = re.search(r"ALPN protocol: (\S+)", out)
    check(code == 0 and m and m.group(1) == want,
          "offered %s: expected %s:\n%s" % (offer, want, out))
    tw.wait_for(r'event=close .*alpn="%s"' % re.escape(want), start=0)
    log("ok: offered %s, negotiated %s" % (offer, want))

code, out = s_client()
check(code == 0 and "No ALPN negotiated" in out and "alpn ok" in out,
      "a client without ALPN was not served:\n%s" % out)
log("ok: no ALPN offered, served without")

mark = tw.mark()
code, out = s_client("-alpn", "spdy/3,imap")
check(code != 0 and "no application protocol" in out,
      "no common protocol was not refused with no_application_protocol:\n%s" % out)
tw.wait_for(r"event=handshake_failed .*alert=120 .*no common ALPN protocol: the client offers "
            r"spdy/3,imap, the service accepts h2,http/1.1", start=mark)
log("ok: no common protocol refused (no_application_protocol), reason logged")

# curl asks for http/1.1 only with --http1.1 and sees what was chosen.
r = subprocess.run(["curl", "-sS", "-v", "--http1.1", "--cacert", cert,
                    "https://localhost:%d/" % tw.port], capture_output=True, timeout=30)
check(r.returncode == 0 and r.stdout == b"alpn ok\n", "curl failed: %s" % r.stderr.decode())
check(b"ALPN: server accepted http/1.1" in r.stderr or b"ALPN, server accepted to use http/1.1"
      in r.stderr, "curl did not see ALPN http/1.1:\n%s" % r.stderr.decode())
log("ok: curl --http1.1 negotiated http/1.1")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
