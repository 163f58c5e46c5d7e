#include "signer/sign_shape.hpp"

#include <algorithm>
#include <cstdarg>
#include <string_view>

#include "common/bytes.hpp"

namespace tlsward::signer {

namespace {

constexpr std::string_view kServerContext = "TLS 1.3, server CertificateVerify";
constexpr std::string_view kClientContext = "TLS 1.3, client CertificateVerify";
constexpr size_t kPadding = 64;  // bytes of 0x20 before the context string

// RFC 8422 5.4 and RFC 8446 4.2.7.
constexpr uint8_t kNamedCurve = 3;
constexpr uint16_t kSecp256r1 = 23;
constexpr uint16_t kSecp384r1 = 24;
constexpr uint16_t kX25519 = 29;
constexpr size_t kRandoms = 64;  // client random, server random

// TLS 1.2 handshake message types (RFC 5246 7.4).
enum : uint8_t {
    kClientHello = 1,
    kServerHello = 2,
    kCertificate = 11,
    kServerKeyExchange = 12,
    kCertificateRequest = 13,
    kServerHelloDone = 14,
    kClientKeyExchange = 16,
    kCertificateStatus = 22,
};

Error refuse(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
Error refuse(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string text = vstrfmt(fmt, ap);
    va_end(ap);
    return Error{ErrorKind::protocol, text};
}

bool is_tls13(ipc::SignKind k) {
    return k == ipc::SignKind::tls13_server_certificate_verify ||
           k == ipc::SignKind::tls13_client_certificate_verify;
}

Status check_scheme(const ipc::SchemeInfo& s, ipc::KeyAlgorithm key, ipc::SignKind kind) {
    bool fits = key == ipc::KeyAlgorithm::rsa       ? s.rsa
                : key == ipc::KeyAlgorithm::ed25519 ? !s.rsa && !s.ecdsa
                                                    : s.ecdsa;
    if (!fits)
        return refuse("scheme %s does not fit a %s key", s.name, ipc::key_algorithm_name(key));
    if (!is_tls13(kind)) return {};
    // RFC 8446 4.4.3: no PKCS#1 v1.5, and an ECDSA scheme names its curve.
    if (s.rsa && !s.pss) return refuse("scheme %s is not allowed in TLS 1.3", s.name);
    if (s.ecdsa) {
        int want = key == ipc::KeyAlgorithm::ec_p256 ? 32 : 48;
        if (s.hash_bytes != want)
            return refuse("scheme %s does not name the key's curve (%s) as TLS 1.3 requires",
                          s.name, ipc::key_algorithm_name(key));
    }
    return {};
}

}  // namespace

bool offered_group(uint16_t group, size_t* point_length) {
    size_t len = group == kX25519 ? 32 : group == kSecp256r1 ? 65 : group == kSecp384r1 ? 97 : 0;
    if (point_length) *point_length = len;
    return len != 0;
}

Status check_tls13_certificate_verify(std::span<const uint8_t> m, bool server) {
    std::string_view context = server ? kServerContext : kClientContext;
    size_t head = kPadding + context.size() + 1;
    // The transcript hash is the suite's: SHA-256 or SHA-384.
    if (m.size() != head + 32 && m.size() != head + 48)
        return refuse("not a TLS 1.3 %s CertificateVerify input: %zu bytes (%zu or %zu expected)",
                      server ? "server" : "client", m.size(), head + 32, head + 48);
    if (!std::all_of(m.begin(), m.begin() + kPadding, [](uint8_t b) { return b == 0x20; }))
        return refuse("not a TLS 1.3 CertificateVerify input: the first 64 bytes are not 0x20");
    if (!std::equal(context.begin(), context.end(), m.begin() + kPadding))
        return refuse("not a TLS 1.3 %s CertificateVerify input: wrong context string",
                      server ? "server" : "client");
    if (m[head - 1] != 0) return refuse("TLS 1.3 CertificateVerify input: no 0x00 separator");
    return {};
}

Status check_tls12_server_key_exchange(std::span<const uint8_t> m) {
    if (m.size() < kRandoms + 4)
        return refuse("not a TLS 1.2 ServerKeyExchange input: %zu bytes", m.size());
    ByteReader r(m.subspan(kRandoms));
    uint8_t curve_type = 0;
    uint16_t group = 0;
    ByteReader point;
    r.u8(curve_type);
    r.u16(group);
    if (curve_type != kNamedCurve)
        return refuse("TLS 1.2 ServerKeyExchange: curve type %u is not named_curve", curve_type);
    size_t want = 0;
    if (!offered_group(group, &want))
        return refuse("TLS 1.2 ServerKeyExchange: group %u is not one tlsward offers", group);
    if (!r.u8_prefixed(point) || point.remaining() != want)
        return refuse("TLS 1.2 ServerKeyExchange: a point of %zu bytes for group %u (%zu expected)",
                      m.size() - kRandoms - 4, group, want);
    if (!r.done())
        return refuse("TLS 1.2 ServerKeyExchange: %zu bytes after the point", r.remaining());
    if (group != kX25519 && point.rest()[0] != 0x04)
        return refuse("TLS 1.2 ServerKeyExchange: the point is not uncompressed");
    return {};
}

Status check_tls12_client_transcript(std::span<const uint8_t> m) {
    // The full handshake a TLS 1.2 client signs over when a server asks for
    // its certificate (ECDHE suites only, as tlsward offers).
    static const uint8_t kOrder[] = {kClientHello,       kServerHello,       kCertificate,
                                     kCertificateStatus, kServerKeyExchange, kCertificateRequest,
                                     kServerHelloDone,   kCertificate,       kClientKeyExchange};
    ByteReader r(m);
    size_t next = 0;
    while (!r.empty()) {
        uint8_t type = 0;
        uint32_t len = 0;
        ByteReader body;
        if (!r.u8(type) || !r.u24(len) || !r.sub(len, body))
            return refuse("TLS 1.2 client transcript: a truncated handshake message");
        while (next < std::size(kOrder) && kOrder[next] != type &&
               kOrder[next] == kCertificateStatus)
            ++next;  // the one optional message
        if (next == std::size(kOrder) || kOrder[next] != type)
            return refuse("TLS 1.2 client transcript: handshake message %u out of place", type);
        if ((type == kServerHelloDone) != (len == 0))
            return refuse("TLS 1.2 client transcript: message %u of %u bytes", type, len);
        ++next;
    }
    if (next != std::size(kOrder))
        return refuse("TLS 1.2 client transcript: does not end with ClientKeyExchange");
    return {};
}

Status check_sign_request(const ipc::SignRequest& q, ipc::KeyAlgorithm key, uint8_t allowed) {
    const ipc::SchemeInfo* scheme = ipc::find_scheme(q.scheme);
    if (!scheme) return refuse("unknown signature scheme 0x%04x", q.scheme);
    if ((allowed & ipc::sign_kind_bit(q.kind)) == 0)
        return refuse("this key does not sign %s", ipc::sign_kind_name(q.kind));
    if (q.message.size() > ipc::kMaxSignMessage)
        return refuse("a message of %zu bytes (at most %zu)", q.message.size(),
                      ipc::kMaxSignMessage);
    if (auto s = check_scheme(*scheme, key, q.kind); !s) return s;
    switch (q.kind) {
        case ipc::SignKind::tls13_server_certificate_verify:
            return check_tls13_certificate_verify(q.message, true);
        case ipc::SignKind::tls13_client_certificate_verify:
            return check_tls13_certificate_verify(q.message, false);
        case ipc::SignKind::tls12_server_key_exchange:
            return check_tls12_server_key_exchange(q.message);
        case ipc::SignKind::tls12_client_certificate_verify:
            return check_tls12_client_transcript(q.message);
    }
    return refuse("unknown kind %u", static_cast<unsigned>(q.kind));
}

}  // namespace tlsward::signer
