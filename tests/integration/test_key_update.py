"""KeyUpdate through tlsward's record layer:
- openssl s_client sends KeyUpdate ("k", and "K" = update_requested) in the
  middle of a transfer; data on both sides of it arrives intact, and the
  requested update is answered by a server KeyUpdate the client observes;
- Python's client asks for updates many times over a long transfer."""
import re
import subprocess
import threading

from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key))

# s_client reads stdin line by line: data lines are sent, "k"/"K" lines
# trigger SSL_key_update. We pace the lines so each is its own write.
lines = []
for i in range(30):
    lines.append(b"line %02d before\n" % i)
lines.append(b"k\n")
for i in range(30):
    lines.append(b"line %02d between\n" % i)
lines.append(b"K\n")
for i in range(30):
    lines.append(b"line %02d after\n" % i)

p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % tw.port, "-tls1_3",
                      "-CAfile", cert, "-msg"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out_chunks = []
reader = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()), daemon=True)
reader.start()
for l in lines:
    p.stdin.write(l)
    p.stdin.flush()
    time.sleep(0.02 * SLOW)
time.sleep(1.0 * SLOW)
p.stdin.write(b"Q\n")
p.stdin.flush()
p.stdin.close()
p.wait(timeout=30)
reader.join(timeout=10)
out = out_chunks[0].decode(errors="replace") if out_chunks else ""

for l in lines:
    if l in (b"k\n", b"K\n"):
        continue
    check(l.decode() in out, "echo of %r missing after KeyUpdate:\n%s" % (l, out[-3000:]))
sent_updates = len(re.findall(r">>> TLS 1.3, Handshake \[length 0005\], KeyUpdate", out))
recv_updates = len(re.findall(r"<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate", out))
check(sent_updates == 2, "client sent %d KeyUpdates, expected 2" % sent_updates)
check(recv_updates == 1, "client received %d KeyUpdates, expected 1 (answer to K)" % recv_updates)
log("ok: s_client k and K mid-stream; 90 lines intact; tlsward answered update_requested")

check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
