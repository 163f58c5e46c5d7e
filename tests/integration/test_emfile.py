"""Out of descriptors: netproc's RLIMIT_NOFILE is lowered (prlimit)
to what it holds idle plus room for one proxied connection (two fds).
While that connection is open, new clients are refused at once (the
reserve fd lets netproc accept and close them instead of leaving them in
the backlog or spinning on a readable listener), netproc backs off and
logs event=accept_fd_exhausted once per 10 s however many it refuses, and
keeps serving the open connection. When that connection closes, its fds
are free and new clients are served again."""
import resource
import ssl

import tls_client
from harness import *

tmp = TempDir()
cert, key = make_cert(tmp.path)
backend = Backend("echo")
tw = Tlsward(server_args(backend, cert, key))
netproc = tw.child_pid("tlsward: netproc")
check(netproc, "no netproc")


def fds():
    return len(os.listdir("/proc/%d/fd" % netproc))


def set_nofile(pid, limits):
    """prlimit(2) on netproc. Without CAP_SYS_RESOURCE (containers drop it)
    only a process of the same uids may, so a forked child takes them."""
    try:
        return resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)
    except PermissionError:
        pass
    st = os.stat("/proc/%d" % pid)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.setgroups([])
            os.setresgid(st.st_gid, st.st_gid, st.st_gid)
            os.setresuid(st.st_uid, st.st_uid, st.st_uid)
            old = resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)
            os.write(w, ("%d %d" % old).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    out = os.read(r, 100).decode()
    os.close(r)
    _, status = os.waitpid(child, 0)
    check(status == 0 and out, "could not set netproc's RLIMIT_NOFILE (as uid %d)" % st.st_uid)
    return tuple(int(x) for x in out.split())


def echo(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(4096)
        if not d:
            break
        got += d
    return got


check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n", "no echo at start")
time.sleep(0.5)  # the first connection's fds are closed after its last callback
idle = fds()
with open("/proc/%d/limits" % netproc) as f:
    line = [l for l in f if l.startswith("Max open files")][0].split()
soft, hard = int(line[3]), int(line[4])
set_nofile(netproc, (idle + 2, hard))
log("netproc holds %d fds idle; RLIMIT_NOFILE lowered from %d to %d" % (idle, soft, idle + 2))

held = tls_client.connect(tw.port)
check(echo(held, b"first\n") == b"first\n", "the connection that fits was not served")
check(fds() == idle + 2, "netproc holds %d fds with one connection, %d idle" % (fds(), idle))
mark = tw.mark()
refused = 0
for i in range(20):
    t0 = time.time()
    try:
        s = tls_client.connect(tw.port, timeout=5 * SLOW)
        got = echo(s, b"x\n")
        s.close()
        check(got == b"", "client %d was served with no fd to spare: %r" % (i, got))
    except (OSError, ssl.SSLError):
        pass
    took = time.time() - t0
    check(took < 3 * SLOW, "client %d waited %.2fs instead of being refused at once" % (i, took))
    refused += 1
log("ok: %d clients refused at once while out of fds" % refused)
check(echo(held, b"still served\n") == b"still served\n", "the open connection broke")
lines = tw.wait_for(r"event=accept_fd_exhausted", start=mark, timeout=5 * SLOW)
check(tw.count(r"event=accept_fd_exhausted", start=mark) == 1,
      "the fd exhaustion was logged %d times within 10 s"
      % tw.count(r"event=accept_fd_exhausted", start=mark))
log("ok: logged once: %s" % lines[0].split("netproc", 1)[1])

held.close()
wait_until(lambda: fds() <= idle, 10 * SLOW, "netproc to free the connection's fds")
for i in range(5):
    check(tls_client.echo_round_trip(tw.port) == b"hello through tlsward\n",
          "no recovery once fds were free (%d)" % i)
log("ok: served again once the connection's fds were free")
set_nofile(netproc, (soft, hard))
check(tw.child_pid("tlsward: netproc") == netproc, "netproc was restarted")
check(tw.stop() == 0, "tlsward exit status")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
