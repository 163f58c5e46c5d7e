"""A NOTIFY_SOCKET of the test's own: collects what tlsward tells systemd."""
import os
import socket
import threading
import time


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []  # (time, {key: value})
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            fields = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            with self.cond:
                self.messages.append((time.time(), fields))
                self.cond.notify_all()

    def wait(self, key, value=None, timeout=10, after=0):
        """The first message from time `after` on with key (=value)."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for t, f in self.messages:
                    if t >= after and key in f and (value is None or f[key] == value):
                        return t, f
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def times(self, key, since=0, until=None):
        with self.cond:
            return [t for t, f in self.messages
                    if key in f and t >= since and (until is None or t < until)]

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
