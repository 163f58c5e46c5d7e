"""Certificates for the TLS feature scenarios, made with Python's
cryptography: a CA, leaves it issues (server or client, ECDSA or RSA, with
the names asked for), CRLs and OCSP responses. Files are PEM (DER for
OCSP) in the scenario's temporary directory."""

import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.utcnow()


class Issued:
    def __init__(self, cert, key, crt_path, key_path):
        self.cert = cert
        self.key = key
        self.crt = crt_path
        self.key_path = key_path

    @property
    def spki_sha256(self):
        der = self.cert.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()


def _key(kind):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _write(directory, name, cert, key):
    crt = os.path.join(directory, name + ".crt")
    kp = os.path.join(directory, name + ".key")
    with open(crt, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(kp, 0o600)
    return Issued(cert, key, crt, kp)


def make_ca(directory, name):
    key = _key("ec")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(hours=1))
            .not_valid_after(NOW + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return _write(directory, name, cert, key)


def issue(directory, name, ca, cn, dns=(), ips=(), uris=(), kind="ec", client=False):
    """A leaf signed by `ca` (an Issued from make_ca)."""
    key = _key(kind)
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    sans += [x509.UniformResourceIdentifier(u) for u in uris]
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca.cert.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(NOW - datetime.timedelta(hours=1))
         .not_valid_after(NOW + datetime.timedelta(days=2))
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return _write(directory, name, b.sign(ca.key, hashes.SHA256()), key)


def make_crl(directory, name, ca, revoked=()):
    b = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
         .last_update(NOW - datetime.timedelta(hours=1))
         .next_update(NOW + datetime.timedelta(days=1)))
    for r in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(r.cert.serial_number)
            .revocation_date(NOW - datetime.timedelta(minutes=5)).build())
    path = os.path.join(directory, name + ".crl")
    with open(path, "wb") as f:
        f.write(b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path


def make_ocsp(directory, name, leaf, ca, status="good"):
    """A signed OCSP response (DER) about `leaf`, as a responder would staple it."""
    cert_status = {"good": ocsp.OCSPCertStatus.GOOD,
                   "revoked": ocsp.OCSPCertStatus.REVOKED}[status]
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf.cert, issuer=ca.cert, algorithm=hashes.SHA1(), cert_status=cert_status,
        this_update=NOW - datetime.timedelta(minutes=5),
        next_update=NOW + datetime.timedelta(days=1),
        revocation_time=NOW - datetime.timedelta(minutes=5) if status == "revoked" else None,
        revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
    path = os.path.join(directory, name + ".der")
    with open(path, "wb") as f:
        f.write(b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    return path


def chain_file(directory, name, *issued):
    """One PEM file with the certificates of several Issued, in order."""
    path = os.path.join(directory, name + ".pem")
    with open(path, "wb") as f:
        for i in issued:
            f.write(i.cert.public_bytes(serialization.Encoding.PEM))
    return path
