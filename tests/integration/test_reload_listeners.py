"""A reload opens the listeners the new configuration adds and closes those
it removes; connections on a removed listener carry on, and a kept
listener is the very same socket (same port, even when it was port 0)."""
import socket

import tls_client
from harness import *
from load import free_port_refused

tmp = TempDir()
cert, key = make_cert(tmp.path, "web")
backend = Backend("echo")
control = tmp.file("control")
config_path = tmp.file("tlsward.toml")
SERVICE = """
[[service]]
name = "%s"
listen = "127.0.0.1:0"
target = "%s"
cert = "web.crt"
key = "web.key"
"""


def write_config(*names):
    with open(config_path, "w") as f:
        f.write("[global]\nhelpers = 1\n")
        for n in names:
            f.write(SERVICE % (n, backend.address))


def port_of(tw, name, start=0):
    line = tw.wait_for(r"event=listening service=%s " % name, start=start)[-1]
    return int(line.rsplit(":", 1)[1])


write_config("a")
tw = Tlsward(["run", "--config", config_path, "--control", control])
port_a = port_of(tw, "a")
held = tls_client.connect(port_a)
held.sendall(b"before\n")
check(held.recv(100) == b"before\n", "no echo on a")

mark = tw.mark()
write_config("a", "b")
reload_ok(control)
port_b = port_of(tw, "b", start=mark)
check(tw.count(r"event=listening service=a ", start=mark) == 0, "a was bound again")
check(tls_client.echo_round_trip(port_b) == b"hello through tlsward\n", "b does not work")
check(tls_client.echo_round_trip(port_a) == b"hello through tlsward\n", "a stopped working")
log("ok: service b added on port %d, a kept on %d" % (port_b, port_a))

mark = tw.mark()
write_config("b")
reload_ok(control)
tw.wait_for(r"event=listener_closed service=a address=127.0.0.1:%d" % port_a, start=mark)
check(free_port_refused(port_a), "a's port still accepts after its removal")
check(tls_client.echo_round_trip(port_b) == b"hello through tlsward\n", "b stopped working")
held.sendall(b"after\n")
check(held.recv(100) == b"after\n", "the connection on the removed listener broke")
held.close()
log("ok: service a removed, its port refused, its connection carried on")

check(tw.stop() == 0, "tlsward did not exit 0")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
