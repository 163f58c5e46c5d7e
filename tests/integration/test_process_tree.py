"""The process tree is 1 supervisor + 1 netproc + N helpers with readable
titles, and SIGTERM (then SIGINT) leaves no process behind and exits 0."""
import signal

from harness import *


def run(sig):
    tmp = TempDir()
    cert, key = make_cert(tmp.path)
    backend = Backend("echo")
    tw = Tlsward(server_args(backend, cert, key, helpers=3))
    kids = tw.children()
    titles = sorted(kids.values())
    check(titles == ["tlsward: crypto[0]", "tlsward: crypto[1]", "tlsward: crypto[2]",
                     "tlsward: netproc"], "unexpected process tree: %r" % titles)
    for pid in kids:
        with open("/proc/%d/comm" % pid) as f:
            comm = f.read().strip()
        check(comm in ("tlsward-net", "tlsward-crypto"), "comm of %d is %r" % (pid, comm))
    code = tw.stop(sig)
    check(code == 0, "tlsward exited %s after %s" % (code, sig.name))
    for pid in kids:
        check(not pid_alive(pid), "child %d (%s) survived %s" % (pid, kids[pid], sig.name))
    tw.check_clean_log()
    backend.stop()
    tmp.cleanup()
    log("ok: %s stops 1 supervisor + 1 netproc + 3 helpers, exit 0" % sig.name)


run(signal.SIGTERM)
run(signal.SIGINT)
