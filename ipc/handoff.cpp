#include "ipc/handoff.hpp"

#include "common/tls_suites.hpp"

namespace tlsward::ipc {

size_t handoff_secret_length(uint16_t suite) {
    const SuiteInfo* s = find_suite(suite);
    if (!s) return 0;
    return s->version == kTls13 ? s->hash_len : s->key_len + s->iv_len;
}

void encode(ByteWriter& w, const HandshakeDone& m) {
    w.u8(kHandoffFormat);
    w.u64(m.conn_id);
    w.u32(m.helper_generation);
    w.u16(m.tls_version);
    w.u16(m.cipher_suite);
    w.u64(m.client_seq);
    w.u64(m.server_seq);
    w.u16(m.max_plaintext);
    w.u8_bytes(m.client_secret.view());
    w.u8_bytes(m.server_secret.view());
    w.u8_string(m.alpn);
    w.u8_string(m.sni);
    w.u16_string(m.peer_identity);
    w.u16_string(m.peer_cn);
    w.u8_bytes(m.peer_spki_sha256);
    w.u8(m.flags);
    w.u32_bytes(m.leftover);
}

namespace {

bool get_secret(ByteReader& r, size_t want, SecretBytes& out) {
    ByteReader s;
    if (!r.u8_prefixed(s) || s.remaining() != want) return false;
    out = SecretBytes(s.rest());
    return true;
}

bool get_u8_string(ByteReader& r, std::string& out) {
    ByteReader s;
    if (!r.u8_prefixed(s)) return false;
    auto v = s.rest();
    out.assign(reinterpret_cast<const char*>(v.data()), v.size());
    return true;
}

}  // namespace

bool decode(ByteReader& r, HandshakeDone& m) {
    uint8_t format = 0;
    if (!r.u8(format) || format != kHandoffFormat) return false;
    if (!r.u64(m.conn_id) || !r.u32(m.helper_generation) || !r.u16(m.tls_version) ||
        !r.u16(m.cipher_suite) || !r.u64(m.client_seq) || !r.u64(m.server_seq) ||
        !r.u16(m.max_plaintext))
        return false;
    const SuiteInfo* suite = find_suite(m.cipher_suite);
    if (!suite || suite->version != m.tls_version) return false;
    if (m.max_plaintext < kMinHandoffPlaintext || m.max_plaintext > kMaxHandoffPlaintext)
        return false;
    if (m.client_seq > kMaxHandoffSeq || m.server_seq > kMaxHandoffSeq) return false;
    size_t len = handoff_secret_length(m.cipher_suite);
    if (!get_secret(r, len, m.client_secret) || !get_secret(r, len, m.server_secret)) return false;
    ByteReader ident;
    ByteReader cn;
    ByteReader spki;
    ByteReader left;
    if (!get_u8_string(r, m.alpn) || !get_u8_string(r, m.sni) || !r.u16_prefixed(ident) ||
        !r.u16_prefixed(cn) || cn.remaining() > kMaxPeerCn || !r.u8_prefixed(spki) ||
        (spki.remaining() != 0 && spki.remaining() != 32) || !r.u8(m.flags) ||
        (m.flags & ~kHandoffFlagsKnown) != 0 || !r.u32_prefixed(left) ||
        left.remaining() > kMaxLeftover)
        return false;
    auto id = ident.rest();
    m.peer_identity.assign(reinterpret_cast<const char*>(id.data()), id.size());
    m.peer_cn = std::string(as_string_view(cn.rest()));
    auto sp = spki.rest();
    m.peer_spki_sha256.assign(sp.begin(), sp.end());
    auto lo = left.rest();
    m.leftover.assign(lo.begin(), lo.end());
    return true;
}

}  // namespace tlsward::ipc
