#include "ipc/tls_settings.hpp"

namespace tlsward::ipc {

namespace {

// Large enough for any trust chunk the supervisor sends (it keeps each
// below this), small enough to fit one frame.
constexpr size_t kMaxTrustChunk = kMaxBody - 16;

bool get_enum(ByteReader& r, uint8_t max, uint8_t& out) {
    return r.u8(out) && out <= max;
}

void put_hashes(ByteWriter& w, const std::vector<Sha256>& v) {
    w.u16(v.size());
    for (const Sha256& h : v) w.bytes(h);
}

bool get_hashes(ByteReader& r, std::vector<Sha256>& out) {
    uint16_t n = 0;
    if (!r.u16(n) || n > kMaxListEntries) return false;
    out.resize(n);
    for (Sha256& h : out)
        if (!r.copy(h.data(), h.size())) return false;
    return true;
}

bool get_bool(ByteReader& r, bool& out) {
    uint8_t v = 0;
    if (!r.u8(v) || v > 1) return false;
    out = v == 1;
    return true;
}

}  // namespace

const char* verify_peer_name(VerifyPeer v) {
    switch (v) {
        case VerifyPeer::none:
            return "none";
        case VerifyPeer::optional:
            return "optional";
        case VerifyPeer::require:
            return "require";
    }
    return "?";
}

const char* proxy_version_name(ProxyVersion v) {
    switch (v) {
        case ProxyVersion::none:
            return "none";
        case ProxyVersion::v1:
            return "v1";
        case ProxyVersion::v2:
            return "v2";
    }
    return "?";
}

void put_string_list(ByteWriter& w, const std::vector<std::string>& v) {
    w.u16(v.size());
    for (const std::string& s : v) w.u16_string(s);
}

bool get_string_list(ByteReader& r, std::vector<std::string>& out, size_t max_entries,
                     size_t max_length) {
    uint16_t n = 0;
    if (!r.u16(n) || n > max_entries) return false;
    out.clear();
    out.reserve(n);
    for (uint16_t i = 0; i < n; ++i) {
        ByteReader s;
        if (!r.u16_prefixed(s) || s.remaining() == 0 || s.remaining() > max_length) return false;
        auto v = s.rest();
        out.emplace_back(reinterpret_cast<const char*>(v.data()), v.size());
    }
    return true;
}

void encode(ByteWriter& w, const ServiceTls& m) {
    w.u8(static_cast<uint8_t>(m.verify_client));
    w.u8(static_cast<uint8_t>(m.unknown_sni));
    put_string_list(w, m.allow_cn);
    put_string_list(w, m.allow_dns);
    put_string_list(w, m.allow_uri);
    put_hashes(w, m.allow_spki);
    w.u8(m.session_tickets ? 1 : 0);
    w.u32(m.session_lifetime_s);
    w.u8_string(m.server_name);
    w.u8_string(m.verify_name);
    put_hashes(w, m.pin_spki);
    put_string_list(w, m.alpn);
}

bool decode(ByteReader& r, ServiceTls& m) {
    uint8_t verify = 0;
    uint8_t sni = 0;
    if (!get_enum(r, static_cast<uint8_t>(VerifyPeer::require), verify) ||
        !get_enum(r, static_cast<uint8_t>(UnknownSni::refuse), sni))
        return false;
    m.verify_client = static_cast<VerifyPeer>(verify);
    m.unknown_sni = static_cast<UnknownSni>(sni);
    ByteReader server_name;
    ByteReader verify_name;
    if (!get_string_list(r, m.allow_cn, kMaxListEntries, 1024) ||
        !get_string_list(r, m.allow_dns, kMaxListEntries, kMaxNameLength) ||
        !get_string_list(r, m.allow_uri, kMaxListEntries, 2048) || !get_hashes(r, m.allow_spki) ||
        !get_bool(r, m.session_tickets) || !r.u32(m.session_lifetime_s) ||
        !r.u8_prefixed(server_name) || !r.u8_prefixed(verify_name) || !get_hashes(r, m.pin_spki) ||
        !get_string_list(r, m.alpn, kMaxAlpnEntries, 255))
        return false;
    if (server_name.remaining() > kMaxNameLength || verify_name.remaining() > kMaxNameLength)
        return false;
    m.server_name = std::string(as_string_view(server_name.rest()));
    m.verify_name = std::string(as_string_view(verify_name.rest()));
    return true;
}

void encode(ByteWriter& w, const CpTrust& m) {
    w.u32(m.service_id);
    w.u8(static_cast<uint8_t>(m.kind));
    w.u32_bytes(m.der);
}

bool decode(ByteReader& r, CpTrust& m) {
    uint8_t kind = 0;
    ByteReader der;
    if (!r.u32(m.service_id) || !r.u8(kind) || kind < 1 ||
        kind > static_cast<uint8_t>(TrustKind::crl) || !r.u32_prefixed(der) ||
        der.remaining() == 0 || der.remaining() > kMaxTrustChunk)
        return false;
    m.kind = static_cast<TrustKind>(kind);
    auto d = der.rest();
    m.der.assign(d.begin(), d.end());
    return true;
}

CpTicketKeys CpTicketKeys::clone() const {
    CpTicketKeys c;
    for (const SecretBytes& k : keys) c.keys.push_back(k.clone());
    c.encrypt_index = encrypt_index;
    return c;
}

void encode(ByteWriter& w, const CpTicketKeys& m) {
    w.u8(m.keys.size());
    for (const SecretBytes& k : m.keys) w.u8_bytes(k.view());
    w.u8(m.encrypt_index);
}

bool decode(ByteReader& r, CpTicketKeys& m) {
    uint8_t n = 0;
    if (!r.u8(n) || n == 0 || n > kMaxTicketKeys) return false;
    m.keys.clear();
    for (uint8_t i = 0; i < n; ++i) {
        ByteReader k;
        if (!r.u8_prefixed(k) ||
            (k.remaining() != kTicketKeyShort && k.remaining() != kTicketKeyLong))
            return false;
        m.keys.emplace_back(k.rest());
    }
    return r.u8(m.encrypt_index) && m.encrypt_index < n;
}

}  // namespace tlsward::ipc
