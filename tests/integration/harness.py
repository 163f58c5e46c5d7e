"""Shared pieces of the integration scenarios: certificates, backends, and a
running tlsward whose log is watched. Every scenario starts the real
binaries from TLSWARD_BUILD_DIR and talks to them over 127.0.0.1 only."""

import atexit
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ.get("TLSWARD_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
TLSWARD = os.path.join(BUILD, "tlsward")
SANITIZED = os.environ.get("TLSWARD_SANITIZE", "0") in ("1", "ON", "TRUE", "true")
# Sanitized binaries are several times slower; waits scale with it.
SLOW = 3 if SANITIZED else 1


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def log(msg):
    print(msg, flush=True)


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="tlsward-test-")

    def file(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def make_cert(directory, name="server", kind="ec", cn="localhost", ca=None):
    """Self-signed (or CA-signed) certificate + key. kind: ec | rsa2048 | rsa4096."""
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".crt")
    if kind == "ec":
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    else:
        newkey = ["-newkey", "rsa:" + kind[3:]]
    san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn, "-addext", san],
                   check=True, capture_output=True)
    return cert, key


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Backend:
    """A plaintext TCP backend on 127.0.0.1. mode:
    echo   - echoes everything back, closes after the client's EOF
    http   - answers each request with a fixed body and closes
    sink   - reads a count line, then that many bytes; answers "<sha256 hex> <count>\n"
    source - sends N bytes (first line from the client: the count) then closes
    """

    def __init__(self, mode="echo", body=b"hello from the backend\n"):
        self.mode = mode
        self.body = body
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self.connections = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()
            del c  # the serving thread owns it: closing it there must end the connection

    def _serve(self, c):
        with c:
            try:
                self._serve_mode(c)
            except OSError:
                pass

    def _serve_mode(self, c):
        if self.mode == "echo":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        elif self.mode == "http":
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    break
                data += d
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                      % len(self.body) + self.body)
        elif self.mode == "sink":
            line = b""
            while not line.endswith(b"\n"):
                d = c.recv(1)
                if not d:
                    return
                line += d
            want = int(line)
            h = hashlib.sha256()
            n = 0
            while n < want:
                d = c.recv(min(1 << 20, want - n))
                if not d:
                    break
                h.update(d)
                n += len(d)
            c.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())
        elif self.mode == "source":
            line = b""
            while not line.endswith(b"\n"):
                d = c.recv(1)
                if not d:
                    return
                line += d
            n = int(line)
            sent = 0
            block = pattern_block()
            while sent < n:
                chunk = block[: min(len(block), n - sent)]
                c.sendall(chunk)
                sent += len(chunk)

    def stop(self):
        self.stopped = True
        self.sock.close()


_PATTERN = None


def pattern_block():
    """1 MiB of deterministic, non-repeating-looking bytes."""
    global _PATTERN
    if _PATTERN is None:
        out = bytearray()
        seed = b"tlsward"
        while len(out) < (1 << 20):
            seed = hashlib.sha256(seed).digest()
            out += seed
        _PATTERN = bytes(out[: 1 << 20])
    return _PATTERN


def pattern_digest(n):
    h = hashlib.sha256()
    block = pattern_block()
    left = n
    while left > 0:
        chunk = block[: min(len(block), left)]
        h.update(chunk)
        left -= len(chunk)
    return h.hexdigest()


def read_digest(sock, pause=0.0):
    """Reads sock to EOF: (bytes read, SHA-256 hex of them). `pause` sleeps
    after each read (a slow reader)."""
    h = hashlib.sha256()
    n = 0
    while True:
        d = sock.recv(1 << 20)
        if not d:
            return n, h.hexdigest()
        h.update(d)
        n += len(d)
        if pause:
            time.sleep(pause)


# Run as root, tlsward refuses to start unless its children's users exist
# (the package creates them). Tests create them when they are missing.
SANDBOX_USERS = ("tlsward", "tlsward-crypto")
_users_checked = False


def _ensure_users(names):
    import fcntl
    import pwd
    # Scenarios run in parallel: one useradd at a time.
    with open(os.path.join(tempfile.gettempdir(), "tlsward-test-users.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in names:
            try:
                pwd.getpwnam(name)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                                "/usr/sbin/nologin", name], check=True, capture_output=True)


def ensure_sandbox_users():
    global _users_checked
    if _users_checked or os.geteuid() != 0:
        return
    _ensure_users(SANDBOX_USERS)
    _users_checked = True


# How packaging/systemd/tlsward.service runs the supervisor: its user and the
# capabilities it grants.
SUPERVISOR_USER = "tlsward-supervisor"
UNIT_CAPS = ["net_bind_service", "setuid", "setgid", "kill"]


def ensure_supervisor_user():
    """The unit's user (root only); returns its pwd entry."""
    import pwd
    _ensure_users([SUPERVISOR_USER])
    return pwd.getpwnam(SUPERVISOR_USER)


def unit_files(tmp, cert, key):
    """What the unit's user may read and write, under `tmp` (a TempDir whose
    folder is 0755): copies of `cert` and `key` it owns in a 0700 folder,
    and a run directory of its own. Returns (cert, key, run directory)."""
    user = ensure_supervisor_user()
    keydir = os.path.join(tmp.path, "keys")
    os.mkdir(keydir, 0o700)
    unit_cert, unit_key = os.path.join(keydir, "web.crt"), os.path.join(keydir, "web.key")
    for src, dst in ((cert, unit_cert), (key, unit_key)):
        shutil.copy(src, dst)
        os.chown(dst, user.pw_uid, user.pw_gid)
    os.chown(keydir, user.pw_uid, user.pw_gid)
    rundir = os.path.join(tmp.path, "run")
    os.mkdir(rundir, 0o755)
    os.chown(rundir, user.pw_uid, user.pw_gid)
    return unit_cert, unit_key, rundir


def run_as_unit(config, rundir, wrapper, write):
    """`tlsward run` on `config`, which `write(config, port)` fills in, its
    control socket in `rundir` (unit_files), started through `wrapper`
    (unit_like(...), maybe after prlimit); returned once an echo went
    through its port."""
    import tls_client
    port = free_port()
    write(config, port)
    tw = Tlsward(["run", "--config", config, "--control", os.path.join(rundir, "control")],
                 wrapper=wrapper)
    check(tls_client.echo_round_trip(port), "no echo on port %d" % port)
    return tw


def unit_like(caps=UNIT_CAPS):
    """A Tlsward wrapper that runs it as the unit does: user SUPERVISOR_USER,
    only `caps` (inheritable, ambient and bounding), no_new_privs."""
    caplist = ",".join("+" + c for c in caps)
    return ["setpriv", "--reuid", SUPERVISOR_USER, "--regid", SUPERVISOR_USER, "--clear-groups",
            "--inh-caps", "-all," + caplist, "--ambient-caps", "-all," + caplist,
            "--bounding-set", "-all," + caplist, "--no-new-privs"]


def service_config(target, helpers=1, listen="127.0.0.1:0", cert="web.crt", key="web.key",
                   global_extra="", service_extra=""):
    """The text of a tlsward.toml with one service (`tlsward run --config`);
    the extras are TOML lines added to [global] and to the service."""
    return ("[global]\nhelpers = %d\n%s\n\n[[service]]\nname = \"web\"\nlisten = \"%s\"\n"
            "target = \"%s\"\ncert = \"%s\"\nkey = \"%s\"\n%s\n"
            % (helpers, global_extra, listen, target, cert, key, service_extra))


def write_file(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Tlsward:
    """A running `tlsward` (supervisor + children). Its stderr is collected
    and watched for events."""

    def __init__(self, args, env=None, wait_ready=True, expect_fail=False, wrapper=()):
        """wrapper: a command that runs tlsward (and execs it, so the pid is
        tlsward's), e.g. systemd-socket-activate with its options."""
        ensure_sandbox_users()
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        full_env = dict(os.environ)
        full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen([*wrapper, TLSWARD, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=full_env)
        threading.Thread(target=self._read, daemon=True).start()
        # A failing scenario exits early; never leave a daemon behind (its
        # children follow it through PR_SET_PDEATHSIG).
        atexit.register(self._kill_if_running)
        if wait_ready:
            self.wait_for("event=ready", timeout=20 * SLOW)
        self.ports = [int(m.group(1)) for m in
                      (re.search(r"event=listening .*address=\S+:(\d+)", l) for l in self.lines)
                      if m]

    def _kill_if_running(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if os.environ.get("TLSWARD_TEST_VERBOSE"):
                print("  | " + line, flush=True)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    @property
    def port(self):
        return self.ports[0]

    def wait_for(self, pattern, timeout=10, start=0, count=1):
        """Waits until `count` log lines from index `start` match `pattern`."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cond:
            while True:
                hits = [l for l in self.lines[start:] if rx.search(l)]
                if len(hits) >= count:
                    return hits
                if self.eof:
                    fail("tlsward exited (%s) before logging %r:\n%s"
                         % (self.proc.returncode, pattern, self.log_text()))
                left = deadline - time.time()
                if left <= 0:
                    fail("timed out waiting for %r in tlsward's log:\n%s"
                         % (pattern, self.log_text()))
                self.cond.wait(min(left, 0.2))

    def mark(self):
        with self.cond:
            return len(self.lines)

    def log_text(self):
        with self.cond:
            return "\n".join(self.lines[-200:])

    def count(self, pattern, start=0):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for l in self.lines[start:] if rx.search(l))

    def children(self):
        """{pid: title} of the supervisor's children, from /proc."""
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                ppid = int(proc_stat(pid)[1])
                if ppid != self.proc.pid:
                    continue
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    title = f.read().split(b"\0")[0].decode()
                out[int(pid)] = title
            except (OSError, ValueError, IndexError):
                continue
        return out

    def child_pid(self, title):
        for pid, t in self.children().items():
            if t == title:
                return pid
        return None

    def stop(self, sig=signal.SIGTERM, timeout=40):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("tlsward did not stop within %ds:\n%s" % (timeout, self.log_text()))
        return self.proc.returncode

    def check_clean_log(self):
        """No sanitizer report, no crash in any process."""
        text = "\n".join(self.lines)
        for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "event=child_died"):
            check(bad not in text, "log shows %r:\n%s" % (bad, self.log_text()))


def cli(*args, timeout=120):
    """Runs `tlsward ARGS` (status, reload) and returns the CompletedProcess."""
    return subprocess.run([TLSWARD, *args], capture_output=True, text=True,
                          timeout=timeout * SLOW)


def reload_ok(control):
    """`tlsward reload` through `control`; fails the test unless it succeeded."""
    r = cli("reload", "--control", control)
    check(r.returncode == 0, "reload failed: %s %s" % (r.stdout, r.stderr))


def proc_stat(pid):
    """/proc/PID/stat's fields after the process name (which may hold spaces
    and parentheses): [0] is field 3 (state), [1] the ppid, [11] utime,
    [16] nice, [37] rt_priority, [38] policy (proc(5), fields minus 3)."""
    with open("/proc/%s/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def server_args(backend, cert, key, *extra, helpers=2):
    return ["server", "--listen", "127.0.0.1:0", "--target", backend.address, "--cert", cert,
            "--key", key, "--helpers", str(helpers), *extra]


def wait_until(pred, timeout, what):
    """pred()'s first true value within `timeout` s; else fails with `what`
    (a string, or a function giving one, for the state at the timeout)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    fail("timed out: " + (what() if callable(what) else what))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
