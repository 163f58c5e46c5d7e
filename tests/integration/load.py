"""Steady load for the supervision scenarios: long transfers that must come
through whatever the scenario does to tlsward (helper crashes, reloads,
shutdown), and a loop of new handshakes that records every outcome."""

import hashlib
import socket
import ssl
import threading
import time

import tls_client
from harness import SLOW, pattern_digest


def _context():
    # The certificate may change under a reload: identity is checked by
    # fingerprint, not by verification.
    return tls_client.context()


def fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


class Transfers:
    """`n` TLS connections through tlsward to a "source" backend, each
    downloading `size` bytes at about `rate` bytes/s (the reader paces
    itself; TCP pushes back through tlsward), checked with SHA-256."""

    def __init__(self, port, n=50, size=8 << 20, rate=1 << 20, timeout=30):
        self.port = port
        self.n = n
        self.size = size
        self.rate = rate
        self.timeout = timeout * SLOW
        self.errors = []
        self.done = 0
        self.fingerprints = set()
        self.lock = threading.Lock()
        self.established = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(n)]

    def start(self, wait_established=True):
        for t in self.threads:
            t.start()
        if wait_established:
            deadline = time.time() + 20 * SLOW
            for _ in range(self.n):
                if not self.established.acquire(timeout=max(0.1, deadline - time.time())):
                    break
        return self

    def _run(self, i):
        try:
            s = tls_client.connect(self.port, _context(), timeout=self.timeout)
        except (OSError, ssl.SSLError) as e:
            with self.lock:
                self.errors.append("transfer %d: connect: %s" % (i, e))
            self.established.release()
            return
        with self.lock:
            self.fingerprints.add(fingerprint(s))
        self.established.release()
        try:
            s.sendall(b"%d\n" % self.size)
            h = hashlib.sha256()
            got = 0
            t0 = time.time()
            while True:
                d = s.recv(65536)
                if not d:
                    break
                h.update(d)
                got += len(d)
                ahead = got / self.rate - (time.time() - t0)
                if ahead > 0:
                    time.sleep(min(ahead, 0.5))
            s.close()
            if got != self.size or h.hexdigest() != pattern_digest(self.size):
                with self.lock:
                    self.errors.append("transfer %d: %d of %d bytes, SHA-256 %s"
                                       % (i, got, self.size, h.hexdigest()))
            else:
                with self.lock:
                    self.done += 1
        except (OSError, ssl.SSLError) as e:
            with self.lock:
                self.errors.append("transfer %d: %s after %s" % (i, e, time.time()))

    def wait(self, timeout=120):
        deadline = time.time() + timeout * SLOW
        for t in self.threads:
            t.join(max(0.1, deadline - time.time()))
        alive = sum(1 for t in self.threads if t.is_alive())
        if alive:
            self.errors.append("%d transfers still running after %ds" % (alive, timeout * SLOW))
        return self.errors


class HandshakeLoop:
    """New TLS connections one after another, in `threads` threads: each
    handshakes, asks the source backend for `payload` bytes and checks them.
    Every attempt is recorded as (start, end, ok, detail, fingerprint)."""

    def __init__(self, port, threads=2, payload=1000, timeout=10):
        self.port = port
        self.payload = payload
        self.timeout = timeout * SLOW
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _one(self):
        start = time.time()
        fp = None
        try:
            s = tls_client.connect(self.port, _context(), timeout=self.timeout)
            fp = fingerprint(s)
            s.sendall(b"%d\n" % self.payload)
            got = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
            s.close()
            ok = hashlib.sha256(got).hexdigest() == pattern_digest(self.payload)
            detail = "" if ok else "%d bytes, wrong digest" % len(got)
        except (OSError, ssl.SSLError) as e:
            ok, detail = False, "%s: %s" % (type(e).__name__, e)
        with self.lock:
            self.results.append((start, time.time(), ok, detail, fp))

    def _run(self):
        while not self.stopping.is_set():
            self._one()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30 * SLOW)
        return self.results

    def failures(self):
        with self.lock:
            return [r for r in self.results if not r[2]]

    def count(self):
        with self.lock:
            return len(self.results)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port_refused(port):
    """True when nothing accepts on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True
