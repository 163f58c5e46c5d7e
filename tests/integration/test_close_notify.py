"""close_notify in each direction.
- A client that sends close_notify right after its request still receives
  the whole response (8 MiB), then tlsward's close_notify.
- When the backend closes, the client gets a close_notify (not a bare EOF).
- A client that closes without close_notify is logged as such."""
import hashlib

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
source = Backend("source")
tw = Tlsward(server_args(source, cert, key))
SIZE = 8 * 1024 * 1024

for version in ("1.3", "1.2"):
    c = tls_client.BioClient(tw.port, tls_client.context(cafile=cert, version=version))
    c.send(b"%d\n" % SIZE)
    c.close_notify()
    data, how = c.read_all()
    c.close()
    check(len(data) == SIZE, "TLS %s: got %d of %d bytes after our close_notify (%s)"
          % (version, len(data), SIZE, how))
    check(hashlib.sha256(data).hexdigest() == pattern_digest(SIZE), "TLS %s: data differs" % version)
    check(how == "close_notify", "TLS %s: stream ended by %r, not close_notify" % (version, how))
    log("ok: TLS %s: close_notify after the request, full 8 MiB response, then close_notify"
        % version)

tw.wait_for(r"event=close .*reason=\"client sent close_notify\"", count=2, timeout=5 * SLOW)

# A client that just drops the TCP connection. With TLS 1.3 it has not read
# the session ticket the server sent after the handshake, so its kernel
# answers with a reset rather than a FIN (libuv reports that as a socket
# error on the poll handle).
mark = tw.mark()
c = tls_client.BioClient(tw.port, tls_client.context(cafile=cert))
c.close()
tw.wait_for(r"event=close .*reason=\"(client closed without close_notify|client socket error: "
            r"[^\"]*)\"", start=mark, timeout=5 * SLOW)
log("ok: a bare TCP close is logged as such")

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
source.stop()
tmp.cleanup()
