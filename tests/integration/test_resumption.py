"""Session resumption with `openssl s_client -sess_out / -sess_in`, TLS 1.3 and
1.2: a second connection is resumed and still carries data (the ticket
records before the hand-off are counted in the sequence numbers); it is
resumed by another helper after the first was killed; by another tlsward
instance sharing the ticket key file (and not by one that does not); never
by another service with the same keys; and a rotated key file still opens
the tickets of its previous sealing key."""
import base64
import os
import re
import signal
import subprocess

from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("http", body=b"resumed or not\n")


def key_file(name, keys):
    path = tmp.file(name)
    with open(path, "w") as f:
        for k in keys:
            f.write(base64.b64encode(k).decode() + "\n")
    os.chmod(path, 0o600)
    return path


def s_client(port, version, sess_out=None, sess_in=None):
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
            "-CAfile", cert, "-ign_eof", "-tls1_3" if version == "1.3" else "-tls1_2"]
    if sess_out:
        args += ["-sess_out", sess_out]
    if sess_in:
        args += ["-sess_in", sess_in]
    p = subprocess.run(args, input=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
                       capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    check(p.returncode == 0 and "resumed or not" in out,
          "s_client %s failed or got no answer:\n%s%s" % (args, out, p.stderr.decode()))
    m = re.search(r"^(New|Reused), ", out, re.M)
    return m.group(1) if m else None


def session(port, version):
    path = tmp.file("sess-%d-%s.pem" % (port, version))
    check(s_client(port, version, sess_out=path) == "New", "the first connection was resumed?")
    return path


keys = [os.urandom(80) for _ in range(3)]
shared = key_file("shared.keys", keys)

# One instance, two helpers: resumed, both versions, data flows.
tw = Tlsward(server_args(backend, cert, key, helpers=2))
for version in ("1.3", "1.2"):
    s = session(tw.port, version)
    for _ in range(3):  # whichever helper gets it
        check(s_client(tw.port, version, sess_in=s) == "Reused", "TLS %s not resumed" % version)
    log("ok: TLS %s resumed, data flows after resumption" % version)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()

# Across a helper restart: the supervisor gives the new helper the same keys.
tw = Tlsward(server_args(backend, cert, key, helpers=1))
s13, s12 = session(tw.port, "1.3"), session(tw.port, "1.2")
old = tw.child_pid("tlsward: crypto[0]")
mark = tw.mark()
os.kill(old, signal.SIGKILL)
tw.wait_for(r"event=child_ready process=crypto\[0\]", timeout=5 * SLOW, start=mark)
check(s_client(tw.port, "1.3", sess_in=s13) == "Reused", "TLS 1.3 not resumed after restart")
check(s_client(tw.port, "1.2", sess_in=s12) == "Reused", "TLS 1.2 not resumed after restart")
log("ok: resumed by a restarted helper")
check(tw.stop() == 0, "tlsward exit status")

# Two instances behind one load balancer share a key file.
a = Tlsward(server_args(backend, cert, key, "--ticket-key-file", shared, helpers=1))
b = Tlsward(server_args(backend, cert, key, "--ticket-key-file", shared, helpers=1))
c = Tlsward(server_args(backend, cert, key, helpers=1))  # generated keys of its own
for version in ("1.3", "1.2"):
    s = session(a.port, version)
    check(s_client(b.port, version, sess_in=s) == "Reused",
          "TLS %s: instance B did not resume A's session" % version)
    check(s_client(c.port, version, sess_in=s) == "New",
          "TLS %s: an instance without the key file resumed" % version)
    log("ok: TLS %s resumed across two instances sharing a key file" % version)

# Rotation: the external store appends the next key; the key
# that sealed before (now the oldest kept) still opens; after a reload B
# seals with the next one.
s = session(a.port, "1.3")
with open(shared, "a") as f:
    f.write(base64.b64encode(os.urandom(80)).decode() + "\n")
for inst in (a, b):
    mark = inst.mark()
    inst.proc.send_signal(signal.SIGHUP)
    inst.wait_for(r"event=generation_switch", timeout=20 * SLOW, start=mark)
check(s_client(b.port, "1.3", sess_in=s) == "Reused", "a rotated key file lost the old key")
log("ok: a ticket sealed before a key rotation still resumes")
for inst in (a, b, c):
    check(inst.stop() == 0, "tlsward exit status")
    inst.check_clean_log()

# Two services with the same keys: a ticket of one never resumes on the other.
config = tmp.file("two.toml")
with open(config, "w") as f:
    f.write("""
[global]
helpers = 1
ticket_key_file = "%s"
[[service]]
name = "one"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"
[[service]]
name = "two"
listen = "127.0.0.1:0"
target = "%s"
cert = "%s"
key = "%s"
""" % (shared, backend.address, cert, key, backend.address, cert, key))
tw = Tlsward(["run", "--config", config, "--control", tmp.file("control.sock")])
check(len(tw.ports) == 2, "expected two listeners: %s" % tw.ports)
for version in ("1.3", "1.2"):
    s = session(tw.ports[0], version)
    check(s_client(tw.ports[0], version, sess_in=s) == "Reused", "not resumed on its own service")
    check(s_client(tw.ports[1], version, sess_in=s) == "New",
          "TLS %s: a ticket of service one resumed on service two" % version)
    log("ok: TLS %s: a ticket is bound to its service" % version)
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
