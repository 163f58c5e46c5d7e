"""A reload that adds a service limit slows the connections already
running: a download started without any limit runs at full speed, and
after `tlsward reload` with `write_rate = 1MiB` the same connection is held
within 10% of 1 MiB/s. (netproc makes a connection's throttle state only
once a limit applies to it, so this is the path that makes it late.)"""
import threading

import tls_client
from harness import *

RATE = 1024 * 1024
tmp = TempDir()
cert, key = make_cert(tmp.path, "web")
source = Backend("source")
control = tmp.file("control")
config_path = tmp.file("tlsward.toml")
write_file(config_path, service_config(source.address))
tw = Tlsward(["run", "--config", config_path, "--control", control])

s = tls_client.connect(tw.port, tls_client.context(cafile=cert), timeout=30)
s.sendall(b"%d\n" % (1 << 40))  # more than the test will ever read


def rate_over(seconds):
    n = 0
    start = time.time()
    while time.time() - start < seconds:
        d = s.recv(1 << 20)
        check(d, "the download ended early")
        n += len(d)
    return n / (time.time() - start)


before = rate_over(1.0)
log("before the reload: %.0f bytes/s" % before)
check(before > 10 * RATE, "unlimited download only %.0f bytes/s" % before)

write_file(config_path, service_config(source.address, service_extra='write_rate = "1MiB"'))
mark = tw.mark()
r = cli("reload", "--control", control)
check(r.returncode == 0, "reload failed: %s" % r.stderr)
tw.wait_for(r"event=reload_done|event=reloaded|generation=2", start=mark)
# What was already in flight (buffers, the burst) drains first.
rate_over(1.0)
after = rate_over(4.0)
log("after the reload: %.0f bytes/s (limit %d, %.1f%%)" % (after, RATE, 100.0 * after / RATE))
check(0.9 * RATE <= after <= 1.1 * RATE,
      "the running connection was not held to the new limit: %.0f bytes/s" % after)
s.close()
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
source.stop()
tmp.cleanup()
