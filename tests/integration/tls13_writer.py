"""A TLS 1.3 client whose write direction the test takes over after the
handshake: Python's ssl does the handshake and keeps reading the server's
records (KeyUpdates included), while this module seals the client's records
itself from the CLIENT_TRAFFIC_SECRET_0 that ssl's key log gives. That is
how a test sends what no well-behaved library would: KeyUpdate storms,
alerts inside a fragmented handshake message, odd padding, any inner
content type. RFC 8446 5.2 (records), 7.1 (HKDF-Expand-Label), 7.2
(KeyUpdate)."""

import hashlib
import hmac
import os
import struct
import tempfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

import tls_client

SUITES = {
    "TLS_AES_128_GCM_SHA256": (AESGCM, 16, hashlib.sha256),
    "TLS_AES_256_GCM_SHA384": (AESGCM, 32, hashlib.sha384),
    "TLS_CHACHA20_POLY1305_SHA256": (ChaCha20Poly1305, 32, hashlib.sha256),
}

APPLICATION_DATA = 23
HANDSHAKE = 22
ALERT = 21


def hkdf_expand_label(hash_fn, secret, label, length, context=b""):
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + struct.pack(">B", len(context)) + context
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hash_fn).digest()
        out += block
        i += 1
    return out[:length]


def key_update_message(request):
    return bytes([24, 0, 0, 1, 1 if request else 0])


class RawTls13Client(tls_client.BioClient):
    """BioClient with a TLS 1.3 handshake (forced), whose records after the
    handshake are sealed by seal()/send_record() rather than by ssl."""

    def __init__(self, port, timeout=10):
        self._keylog_dir = tempfile.mkdtemp(prefix="tlsward-keylog-")
        ctx = tls_client.context(version="1.3")
        ctx.keylog_filename = os.path.join(self._keylog_dir, "keys")
        super().__init__(port, ctx, timeout=timeout)
        name = self.obj.cipher()[0]
        self.aead_class, self.key_len, self.hash_fn = SUITES[name]
        secret = None
        with open(ctx.keylog_filename) as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] == "CLIENT_TRAFFIC_SECRET_0":
                    secret = bytes.fromhex(parts[2])
        os.unlink(ctx.keylog_filename)
        os.rmdir(self._keylog_dir)
        assert secret, "no CLIENT_TRAFFIC_SECRET_0 in the key log"
        self._install(secret)

    def _install(self, secret):
        self.secret = secret
        key = hkdf_expand_label(self.hash_fn, secret, b"key", self.key_len)
        self.iv = hkdf_expand_label(self.hash_fn, secret, b"iv", 12)
        self.aead = self.aead_class(key)
        self.seq = 0

    def seal(self, content_type, content, padding=0):
        inner = content + bytes([content_type]) + b"\x00" * padding
        header = struct.pack(">BHH", APPLICATION_DATA, 0x0303, len(inner) + 16)
        nonce = bytes(a ^ b for a, b in zip(self.iv, struct.pack(">4xQ", self.seq)))
        self.seq += 1
        return header + self.aead.encrypt(nonce, inner, header)

    def key_update(self, request):
        """The sealed KeyUpdate record; the client's key changes after it."""
        rec = self.seal(HANDSHAKE, key_update_message(request))
        self._install(hkdf_expand_label(self.hash_fn, self.secret, b"traffic upd",
                                        self.hash_fn().digest_size))
        return rec

    def data(self, payload):
        return self.seal(APPLICATION_DATA, payload)
