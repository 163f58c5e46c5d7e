"""tlsward-bench's plaintext backend (the echo protocol the ping, soak and
handshakes modes speak), and a runner for tlsward-bench itself."""
import atexit
import json
import os
import subprocess

from harness import BUILD, SLOW, check

BENCH = os.path.join(BUILD, "bench", "tlsward-bench")


def _env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    return env


class BenchBackend:
    def __init__(self):
        check(os.access(BENCH, os.X_OK), "no %s (is bench/ built?)" % BENCH)
        self.proc = subprocess.Popen([BENCH, "backend", "--listen", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=_env())
        atexit.register(lambda: self.proc.poll() is None and self.proc.kill())
        line = self.proc.stdout.readline().split()
        check(len(line) == 2 and line[0] == "listening", "backend did not start: %r" % line)
        self.address = line[1]

    def stop(self):
        self.proc.terminate()
        self.proc.communicate(timeout=20 * SLOW)


def bench_start(mode, server, *args):
    """Starts tlsward-bench MODE against 127.0.0.1:PORT; bench_result() reads it."""
    cmd = [BENCH, mode, "--connect", server, "--json", "--quiet", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())


def bench_result(p, timeout=300):
    out, err = p.communicate(timeout=timeout * SLOW)
    check(p.returncode == 0, "tlsward-bench failed (%d): %s\n%s" % (p.returncode, err, out))
    return json.loads(out)["results"]


def bench(mode, server, *args, timeout=300):
    return bench_result(bench_start(mode, server, *args), timeout)
