"""Under systemd-socket-activate: the listening socket systemd passes is
used, matched to its service by name (LISTEN_FDNAMES) or, unnamed, by
address; tlsward binds only what systemd did not pass; READY=1 goes to
the NOTIFY_SOCKET; a reload keeps the passed socket."""
import socket
import threading

import tls_client
from harness import *
from load import free_port_refused
from systemd_notify import NotifySocket

tmp = TempDir()
cert, key = make_cert(tmp.path, "web")
backend = Backend("echo")
notify = NotifySocket(tmp.file("notify"))
passed, configured, api_port = free_port(), free_port(), free_port()
control = tmp.file("control")
config_path = tmp.file("tlsward.toml")
with open(config_path, "w") as f:
    f.write("""
[global]
helpers = 1

[[service]]
name = "web"
listen = "127.0.0.1:%d"
target = "%s"
cert = "web.crt"
key = "web.key"

[[service]]
name = "api"
listen = "127.0.0.1:%d"
target = "%s"
cert = "web.crt"
key = "web.key"
""" % (configured, backend.address, api_port, backend.address))

# systemd-socket-activate listens and starts tlsward at the first connection.
wrapper = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % passed, "--fdname=web",
           "-E", "NOTIFY_SOCKET=" + notify.path]
tw = Tlsward(["run", "--config", config_path, "--control", control], wrapper=wrapper,
             wait_ready=False)
first = []
t = threading.Thread(target=lambda: first.append(tls_client.echo_round_trip(passed, timeout=30)))
t.start()
tw.wait_for(r"event=ready", timeout=20 * SLOW)
t.join(30)
check(first == [b"hello through tlsward\n"], "the first connection was not served: %s" % first)
check(notify.wait("READY", "1", timeout=5) is not None, "no READY=1")
tw.wait_for(r"event=listening service=web address=127.0.0.1:%d from=systemd:web" % passed)
check(free_port_refused(configured), "web's configured address was bound too")
check(tls_client.echo_round_trip(api_port) == b"hello through tlsward\n", "api not served")
log("ok: web on systemd's socket %d (named), api bound itself on %d" % (passed, api_port))

r = cli("reload", "--control", control)
check(r.returncode == 0, "reload failed: %s" % r.stderr)
check(tls_client.echo_round_trip(passed) == b"hello through tlsward\n", "web lost after reload")
log("ok: reload kept systemd's socket")
check(tw.stop() == 0, "tlsward did not exit 0")
tw.check_clean_log()

# Unnamed (no --fdname): matched by address, quick mode.
wrapper = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % passed]
tw = Tlsward(["server", "--listen", "127.0.0.1:%d" % passed, "--target", backend.address,
              "--cert", cert, "--key", key, "--helpers", "1"], wrapper=wrapper, wait_ready=False)
first = []
t = threading.Thread(target=lambda: first.append(tls_client.echo_round_trip(passed, timeout=30)))
t.start()
tw.wait_for(r"event=ready", timeout=20 * SLOW)
t.join(30)
check(first == [b"hello through tlsward\n"], "not served on the unnamed socket: %s" % first)
tw.wait_for(r"event=listening service=server address=127.0.0.1:%d from=systemd:unknown" % passed)
log("ok: an unnamed socket matched by address")
check(tw.stop() == 0, "tlsward did not exit 0")
notify.close()
backend.stop()
tmp.cleanup()
