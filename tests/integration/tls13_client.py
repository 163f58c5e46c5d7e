"""A TLS 1.3 client written byte by byte (RFC 8446), for the conversations
no library will hold: a ClientHello cut into one-byte records, early data
the server must skip (4.2.10), a HelloRetryRequest with early data around
it, a Finished and a request in one segment, and a client that walks away
at any step of the handshake. It does the key schedule (7.1), the
transcript (4.4.1, with the message_hash of a HelloRetryRequest) and the
record protection (5.2) itself; it checks the server's Finished but not
its certificate (the tests run against their own).

Steps, in order (each can be left out or repeated where the RFC allows):
    c = Tls13Client(port)
    c.send(c.records(HANDSHAKE, c.client_hello(early_data=True, fake_psk=True), size=1))
    c.send(c.garbage_early_data(1024))
    c.read_server_hello()      # "hrr": send c.client_hello(retry=True) and read again
    c.read_server_flight()     # EncryptedExtensions .. Finished, checked
    c.send(c.finished() + c.data(b"GET / HTTP/1.0\\r\\n\\r\\n"))
    c.read_records()           # [(content type, bytes)], NewSessionTicket and KeyUpdate seen
"""

import hashlib
import hmac
import os
import socket
import struct
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from tls13_writer import (ALERT, APPLICATION_DATA, HANDSHAKE, SUITES, hkdf_expand_label,
                          key_update_message)

CHANGE_CIPHER_SPEC = 20

# Handshake message types (RFC 8446 4).
CLIENT_HELLO = 1
SERVER_HELLO = 2
NEW_SESSION_TICKET = 4
ENCRYPTED_EXTENSIONS = 8
CERTIFICATE = 11
CERTIFICATE_REQUEST = 13
CERTIFICATE_VERIFY = 15
FINISHED = 20
KEY_UPDATE = 24
MESSAGE_HASH = 254

SUITE_IDS = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
}
X25519 = 0x001d
SECP256R1 = 0x0017
# ServerHello.random of a HelloRetryRequest (4.1.3).
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

ALERT_NAMES = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
               22: "record_overflow", 40: "handshake_failure", 47: "illegal_parameter",
               50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
               80: "internal_error", 109: "missing_extension", 110: "unsupported_extension"}


class PeerAlert(Exception):
    """The server sent an alert (or closed) where the conversation expected
    something else."""

    def __init__(self, what):
        super().__init__(what)
        self.what = what


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u24(v):
    return struct.pack(">I", v)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def handshake_message(msg_type, body):
    return u8(msg_type) + u24(len(body)) + body


def extension(ext_type, body):
    return u16(ext_type) + vec16(body)


class Direction:
    """One direction's record protection: key and IV from a traffic secret,
    a sequence number per key."""

    def __init__(self, suite_name, secret):
        self.aead_class, self.key_len, self.hash_fn = SUITES[suite_name]
        self.install(secret)

    def install(self, secret):
        self.secret = secret
        self.aead = self.aead_class(hkdf_expand_label(self.hash_fn, secret, b"key", self.key_len))
        self.iv = hkdf_expand_label(self.hash_fn, secret, b"iv", 12)
        self.seq = 0

    def next_key(self):
        self.install(hkdf_expand_label(self.hash_fn, self.secret, b"traffic upd",
                                       self.hash_fn().digest_size))

    def nonce(self):
        n = bytes(a ^ b for a, b in zip(self.iv, struct.pack(">4xQ", self.seq)))
        self.seq += 1
        return n

    def seal(self, content_type, content, padding=0):
        inner = content + u8(content_type) + b"\x00" * padding
        header = struct.pack(">BHH", APPLICATION_DATA, 0x0303, len(inner) + 16)
        return header + self.aead.encrypt(self.nonce(), inner, header)

    def open(self, header, body):
        inner = self.aead.decrypt(self.nonce(), body, header)
        end = len(inner)
        while end > 0 and inner[end - 1] == 0:
            end -= 1
        if end == 0:
            raise PeerAlert("a record with no content type")
        return inner[end - 1], inner[: end - 1]


class Ticket:
    """A session to resume: what a NewSessionTicket gave, and the PSK."""

    def __init__(self, suite, hash_fn, ticket, psk, age_add, received_ms):
        self.suite, self.hash_fn, self.ticket, self.psk = suite, hash_fn, ticket, psk
        self.age_add, self.received_ms = age_add, received_ms


class Tls13Client:
    def __init__(self, port, suites=(0x1301, 0x1302, 0x1303), server_name="localhost",
                 timeout=10, linger_reset=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if linger_reset:
            self.reset_on_close()
        self.suites = suites
        self.server_name = server_name
        self.random = os.urandom(32)
        self.session_id = os.urandom(32)
        self.transcript = b""
        self.private = {}
        self.suite = None
        self.hash_fn = None
        self.read_dir = None  # protection of the server's records, once keyed
        self.write_hs = None
        self.server_app = None
        self.client_app = None
        self.inbuf = b""
        self.pending = b""  # handshake bytes read, not yet parsed into messages
        self.hrr = False
        self.hrr_group = None
        self.cookie = None
        self.psk = None  # the Ticket offered for resumption
        self.resumed = False

    # ---- wire ----

    def send(self, data):
        self.sock.sendall(data)

    def reset_on_close(self):
        """close() sends a RST instead of a FIN (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self):
        self.sock.close()

    @staticmethod
    def records(content_type, payload, size=16384, version=0x0303):
        """Plaintext records of `content_type` carrying `payload` in pieces of
        at most `size` bytes (RFC 8446 5.1 lets a handshake message span
        records)."""
        out = []
        for i in range(0, len(payload), size):
            piece = payload[i:i + size]
            out.append(struct.pack(">BHH", content_type, version, len(piece)) + piece)
        return b"".join(out)

    @staticmethod
    def garbage_early_data(size):
        """One record of `size` bytes that looks like early data: type
        application_data, content nobody can decrypt (4.2.10: a server that
        rejects 0-RTT skips such records, up to its limit)."""
        return struct.pack(">BHH", APPLICATION_DATA, 0x0303, size) + os.urandom(size)

    @staticmethod
    def change_cipher_spec():
        return struct.pack(">BHHB", CHANGE_CIPHER_SPEC, 0x0303, 1, 1)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise PeerAlert("eof")
        self.inbuf += d

    def next_record(self):
        """(content type, content) of the next record, opened with the
        current read keys when it is protected."""
        while len(self.inbuf) < 5 or len(self.inbuf) < 5 + struct.unpack(">H", self.inbuf[3:5])[0]:
            self._fill()
        n = 5 + struct.unpack(">H", self.inbuf[3:5])[0]
        header, body = self.inbuf[:5], self.inbuf[5:n]
        self.inbuf = self.inbuf[n:]
        if header[0] == APPLICATION_DATA and self.read_dir is not None:
            content_type, content = self.read_dir.open(header, body)
        else:
            content_type, content = header[0], body
        if content_type == ALERT:
            desc = content[1] if len(content) > 1 else -1
            raise PeerAlert("alert " + ALERT_NAMES.get(desc, str(desc)))
        return content_type, content

    def next_handshake_message(self):
        """The next handshake message (type, body, whole message), across
        records; a change_cipher_spec record in between is skipped."""
        while True:
            if len(self.pending) >= 4:
                length = struct.unpack(">I", b"\x00" + self.pending[1:4])[0]
                if len(self.pending) >= 4 + length:
                    whole = self.pending[: 4 + length]
                    self.pending = self.pending[4 + length:]
                    return whole[0], whole[4:], whole
            content_type, content = self.next_record()
            if content_type == CHANGE_CIPHER_SPEC:
                continue
            if content_type != HANDSHAKE:
                raise PeerAlert("record type %d during the handshake" % content_type)
            self.pending += content

    # ---- ClientHello ----

    def _key_share(self, group):
        if group == X25519:
            key = x25519.X25519PrivateKey.generate()
            public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            public = key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        self.private[group] = key
        return u16(group) + vec16(public)

    def client_hello(self, groups=(X25519,), share=True, early_data=False, fake_psk=False,
                     padding=None, retry=False, resume=None):
        """The ClientHello message, added to the transcript. share=False
        sends no key share (the server must ask with a HelloRetryRequest);
        retry=True is the second ClientHello after one, with the share the
        server asked for and without early_data (4.1.2). fake_psk offers a
        ticket no server issued, as a client trying 0-RTT with a stale one
        would; padding adds an extension of that many bytes; resume offers a
        Ticket from an earlier connection (4.2.11, with its binder)."""
        if retry:
            groups_to_share = [self.hrr_group]
            early_data = False
        else:
            groups_to_share = list(groups) if share else []
        shares = b"".join(self._key_share(g) for g in groups_to_share)
        exts = [
            extension(0, vec16(u8(0) + vec16(self.server_name.encode()))),
            extension(10, vec16(b"".join(u16(g) for g in groups))),
            extension(13, vec16(b"".join(u16(s) for s in
                                         (0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807,
                                          0x0401, 0x0501)))),
            extension(43, vec8(u16(0x0304))),
            extension(45, vec8(u8(1))),  # psk_dhe_ke: tickets may be issued
            extension(51, vec16(shares)),
        ]
        if retry and self.cookie is not None:
            exts.append(extension(44, vec16(self.cookie)))
        if early_data:
            exts.append(extension(42, b""))
        if padding is not None:
            exts.append(extension(21, b"\x00" * padding))
        binder_len = 0
        if resume is not None:
            self.psk = resume
            binder_len = resume.hash_fn().digest_size
            age = (int(time.time() * 1000) - resume.received_ms + resume.age_add) & 0xffffffff
            identity = vec16(resume.ticket) + struct.pack(">I", age)
            exts.append(extension(41, vec16(identity) + vec16(vec8(b"\x00" * binder_len))))
        elif fake_psk:
            # pre_shared_key comes last (4.2.11); nobody can open this ticket.
            identity = vec16(os.urandom(120)) + struct.pack(">I", 0x12345678)
            binder = vec8(os.urandom(32))
            exts.append(extension(41, vec16(identity) + vec16(binder)))
        body = (u16(0x0303) + self.random + vec8(self.session_id) +
                vec16(b"".join(u16(s) for s in self.suites)) + vec8(b"\x00") +
                vec16(b"".join(exts)))
        msg = handshake_message(CLIENT_HELLO, body)
        if binder_len:
            # The binder covers the ClientHello up to the binders (4.2.11.2).
            truncated = msg[: -(2 + 1 + binder_len)]
            early = hmac.new(b"\x00" * binder_len, resume.psk, resume.hash_fn).digest()
            binder_key = hkdf_expand_label(resume.hash_fn, early, b"res binder", binder_len,
                                           context=resume.hash_fn(b"").digest())
            finished_key = hkdf_expand_label(resume.hash_fn, binder_key, b"finished", binder_len)
            binder = hmac.new(finished_key, resume.hash_fn(self.transcript + truncated).digest(),
                              resume.hash_fn).digest()
            msg = truncated + vec16(vec8(binder))
        self.transcript += msg
        return msg

    # ---- the server's answer ----

    def _hash(self, data):
        return self.hash_fn(data).digest()

    def _derive(self, secret, label, messages):
        return hkdf_expand_label(self.hash_fn, secret, label, self.hash_fn().digest_size,
                                 context=self._hash(messages))

    def _extract(self, salt, ikm):
        return hmac.new(salt, ikm, self.hash_fn).digest()

    def read_server_hello(self):
        """Reads a ServerHello or HelloRetryRequest: "sh" (handshake keys
        installed) or "hrr" (send client_hello(retry=True) next)."""
        msg_type, body, whole = self.next_handshake_message()
        if msg_type != SERVER_HELLO:
            raise PeerAlert("handshake message %d instead of ServerHello" % msg_type)
        random = body[2:34]
        sid_len = body[34]
        at = 35 + sid_len
        suite = struct.unpack(">H", body[at:at + 2])[0]
        at += 3
        exts = self._extensions(body[at + 2:at + 2 + struct.unpack(">H", body[at:at + 2])[0]])
        self.suite = SUITE_IDS[suite]
        self.hash_fn = SUITES[self.suite][2]
        if random == HRR_RANDOM:
            if self.hrr:
                raise PeerAlert("a second HelloRetryRequest")
            self.hrr = True
            self.hrr_group = struct.unpack(">H", exts[51][:2])[0]
            if 44 in exts:
                self.cookie = exts[44][2:]
            # 4.4.1: the first ClientHello becomes message_hash(Hash(CH1)).
            ch1 = self._hash(self.transcript)
            self.transcript = handshake_message(MESSAGE_HASH, ch1) + whole
            return "hrr"
        self.transcript += whole
        if 41 in exts:
            if self.psk is None or self.psk.suite != self.suite:
                raise PeerAlert("the server resumed a session nobody offered")
            self.resumed = True
        share = exts[51]
        group = struct.unpack(">H", share[:2])[0]
        peer = share[4:4 + struct.unpack(">H", share[2:4])[0]]
        key = self.private[group]
        if group == X25519:
            shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        else:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer)
            shared = key.exchange(ec.ECDH(), point)
        zeros = b"\x00" * self.hash_fn().digest_size
        early = self._extract(b"", self.psk.psk if self.resumed else zeros)
        handshake = self._extract(self._derive(early, b"derived", b""), shared)
        self.client_hs_secret = self._derive(handshake, b"c hs traffic", self.transcript)
        server_hs_secret = self._derive(handshake, b"s hs traffic", self.transcript)
        self.master = self._extract(self._derive(handshake, b"derived", b""), zeros)
        self.server_hs_secret = server_hs_secret
        self.read_dir = Direction(self.suite, server_hs_secret)
        self.write_hs = Direction(self.suite, self.client_hs_secret)
        return "sh"

    @staticmethod
    def _extensions(data):
        out = {}
        while data:
            t, n = struct.unpack(">HH", data[:4])
            out[t] = data[4:4 + n]
            data = data[4 + n:]
        return out

    def _finished_mac(self, base_secret):
        key = hkdf_expand_label(self.hash_fn, base_secret, b"finished",
                                self.hash_fn().digest_size)
        return hmac.new(key, self._hash(self.transcript), self.hash_fn).digest()

    def read_server_flight(self):
        """EncryptedExtensions, Certificate, CertificateVerify and Finished;
        the server's Finished is checked, the application secrets derived."""
        seen = []
        while True:
            msg_type, body, whole = self.next_handshake_message()
            if msg_type == FINISHED:
                if self.resumed and CERTIFICATE in seen:
                    raise PeerAlert("a certificate in a resumed handshake")
                if body != self._finished_mac(self.server_hs_secret):
                    raise PeerAlert("the server's Finished does not verify")
                self.transcript += whole
                break
            seen.append(msg_type)
            self.transcript += whole
        self.server_app = Direction(self.suite,
                                    self._derive(self.master, b"s ap traffic", self.transcript))
        self.client_app_secret = self._derive(self.master, b"c ap traffic", self.transcript)
        return seen

    # ---- the client's second flight and after ----

    def finished(self):
        """The client's Finished, sealed under the client handshake key; from
        here on records are read with the server's application keys."""
        msg = handshake_message(FINISHED, self._finished_mac(self.client_hs_secret))
        self.transcript += msg
        self.resumption_master = self._derive(self.master, b"res master", self.transcript)
        rec = self.write_hs.seal(HANDSHAKE, msg)
        self.read_dir = self.server_app
        self.client_app = Direction(self.suite, self.client_app_secret)
        return rec

    def data(self, payload):
        return self.client_app.seal(APPLICATION_DATA, payload)

    def key_update(self, request):
        rec = self.client_app.seal(HANDSHAKE, key_update_message(request))
        self.client_app.next_key()
        return rec

    def read_records(self, until=None, limit=64):
        """Reads the server's records after the handshake: a list of
        ("ticket" | "key_update" | "data" | "alert NAME" | "eof", bytes).
        A KeyUpdate moves the read key. Stops after `until(events)` is true,
        at an alert or EOF, or after `limit` records."""
        events = []
        while len(events) < limit:
            try:
                content_type, content = self.next_record()
            except PeerAlert as e:
                events.append((e.what, b""))
                return events
            except OSError as e:
                events.append(("eof: %s" % e, b""))
                return events
            if content_type == HANDSHAKE:
                self.pending += content
                while len(self.pending) >= 4:
                    length = struct.unpack(">I", b"\x00" + self.pending[1:4])[0]
                    if len(self.pending) < 4 + length:
                        break
                    msg, self.pending = self.pending[:4 + length], self.pending[4 + length:]
                    if msg[0] == NEW_SESSION_TICKET:
                        events.append(("ticket", msg))
                    elif msg[0] == KEY_UPDATE:
                        events.append(("key_update", msg))
                        self.read_dir.next_key()
                    else:
                        events.append(("handshake %d" % msg[0], msg))
            elif content_type == APPLICATION_DATA:
                events.append(("data", content))
            else:
                events.append(("record %d" % content_type, content))
            if until and until(events):
                return events
        return events

    def ticket(self, message):
        """A Ticket to resume with, from a NewSessionTicket message that
        read_records returned (4.6.1)."""
        body = message[4:]
        lifetime, age_add = struct.unpack(">II", body[:8])
        nonce = body[9:9 + body[8]]
        at = 9 + body[8]
        ticket = body[at + 2:at + 2 + struct.unpack(">H", body[at:at + 2])[0]]
        psk = hkdf_expand_label(self.hash_fn, self.resumption_master, b"resumption",
                                self.hash_fn().digest_size, context=nonce)
        return Ticket(self.suite, self.hash_fn, ticket, psk, age_add, int(time.time() * 1000))

    def handshake(self, **hello):
        """A whole handshake, the client's Finished not yet sent."""
        self.send(self.records(HANDSHAKE, self.client_hello(**hello)))
        if self.read_server_hello() == "hrr":
            self.send(self.records(HANDSHAKE, self.client_hello(retry=True)))
            if self.read_server_hello() != "sh":
                raise PeerAlert("no ServerHello after the HelloRetryRequest")
        return self.read_server_flight()
