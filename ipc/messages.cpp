#include "ipc/messages.hpp"

namespace tlsward::ipc {

namespace {

// Strings on the channel are u16-prefixed and never longer than this; the
// encoder truncates nothing, so a producer checks sizes where it builds the
// value (configuration loading, SNI from OpenSSL which is at most 255).
constexpr size_t kMaxString = 4096;

void put_string(ByteWriter& w, const std::string& s) {
    w.u16_string(std::string_view(s).substr(0, kMaxString));
}

bool get_string(ByteReader& r, std::string& out, size_t max = kMaxString) {
    ByteReader s;
    if (!r.u16_prefixed(s) || s.remaining() > max) return false;
    auto rest = s.rest();
    out.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
    return true;
}

bool get_role(ByteReader& r, ProcessRole& out) {
    uint8_t v = 0;
    if (!r.u8(v) || v > static_cast<uint8_t>(ProcessRole::cryptoproc)) return false;
    out = static_cast<ProcessRole>(v);
    return true;
}

bool get_tls_role(ByteReader& r, TlsRole& out) {
    uint8_t v = 0;
    if (!r.u8(v) || v > static_cast<uint8_t>(TlsRole::client)) return false;
    out = static_cast<TlsRole>(v);
    return true;
}

}  // namespace

const char* fail_reason_name(FailReason r) {
    switch (r) {
        case FailReason::alert_sent:
            return "alert_sent";
        case FailReason::alert_received:
            return "alert_received";
        case FailReason::timeout:
            return "timeout";
        case FailReason::peer_closed:
            return "peer_closed";
        case FailReason::io_error:
            return "io_error";
        case FailReason::internal:
            return "internal";
        case FailReason::unknown_service:
            return "unknown_service";
        case FailReason::overloaded:
            return "overloaded";
    }
    return "unknown";
}

void encode(ByteWriter& w, const Ready& m) {
    w.u8(static_cast<uint8_t>(m.role));
    w.u32(m.generation);
    w.u32(m.slot);
}
bool decode(ByteReader& r, Ready& m) {
    return get_role(r, m.role) && r.u32(m.generation) && r.u32(m.slot);
}

void encode(ByteWriter& w, const Ping& m) {
    w.u64(m.seq);
}
bool decode(ByteReader& r, Ping& m) {
    return r.u64(m.seq);
}
void encode(ByteWriter& w, const Pong& m) {
    w.u64(m.seq);
}
bool decode(ByteReader& r, Pong& m) {
    return r.u64(m.seq);
}

void encode(ByteWriter& w, const Shutdown& m) {
    w.u32(m.drain_ms);
}
bool decode(ByteReader& r, Shutdown& m) {
    return r.u32(m.drain_ms);
}

void encode(ByteWriter& w, const NpService& m) {
    w.u32(m.id);
    put_string(w, m.name);
    w.u8(static_cast<uint8_t>(m.mode));
    m.target.encode(w);
    w.u32(m.handshake_timeout_ms);
    w.u32(m.connect_timeout_ms);
    w.u32(m.idle_timeout_ms);
}
bool decode(ByteReader& r, NpService& m) {
    return r.u32(m.id) && get_string(r, m.name) && get_tls_role(r, m.mode) &&
           SocketAddress::decode(r, m.target) && r.u32(m.handshake_timeout_ms) &&
           r.u32(m.connect_timeout_ms) && r.u32(m.idle_timeout_ms);
}

void encode(ByteWriter& w, const NpListener& m) {
    w.u32(m.service_id);
    m.address.encode(w);
}
bool decode(ByteReader& r, NpListener& m) {
    return r.u32(m.service_id) && SocketAddress::decode(r, m.address);
}

void encode(ByteWriter& w, const NpHelper& m) {
    w.u32(m.slot);
    w.u32(m.generation);
}
bool decode(ByteReader& r, NpHelper& m) {
    return r.u32(m.slot) && r.u32(m.generation);
}

void encode(ByteWriter& w, const NpConfigDone& m) {
    w.u32(m.generation);
    w.u32(m.handshake_queue_limit);
    w.u32(m.max_jobs_per_helper);
}
bool decode(ByteReader& r, NpConfigDone& m) {
    return r.u32(m.generation) && r.u32(m.handshake_queue_limit) && r.u32(m.max_jobs_per_helper);
}

void encode(ByteWriter& w, const CpService& m) {
    w.u32(m.id);
    put_string(w, m.name);
    w.u8(static_cast<uint8_t>(m.role));
    w.u32(m.handshake_timeout_ms);
}
bool decode(ByteReader& r, CpService& m) {
    return r.u32(m.id) && get_string(r, m.name) && get_tls_role(r, m.role) &&
           r.u32(m.handshake_timeout_ms);
}

void encode(ByteWriter& w, const CpCertificate& m) {
    w.u32(m.service_id);
    w.u32_bytes(as_bytes(m.chain_pem));
    w.u32_bytes(m.key_pem.view());
}
bool decode(ByteReader& r, CpCertificate& m) {
    ByteReader chain;
    ByteReader key;
    if (!r.u32(m.service_id) || !r.u32_prefixed(chain) || !r.u32_prefixed(key)) return false;
    auto c = chain.rest();
    m.chain_pem.assign(reinterpret_cast<const char*>(c.data()), c.size());
    m.key_pem = SecretBytes(key.rest());
    return !m.chain_pem.empty() && !m.key_pem.empty();
}

void encode(ByteWriter& w, const CpConfigDone& m) {
    w.u32(m.generation);
    w.u32(m.slot);
}
bool decode(ByteReader& r, CpConfigDone& m) {
    return r.u32(m.generation) && r.u32(m.slot);
}

void encode(ByteWriter&, const CpNetprocChannel&) {}
bool decode(ByteReader&, CpNetprocChannel&) {
    return true;
}

void encode(ByteWriter& w, const HandshakeJob& m) {
    w.u8(kHandshakeJobFormat);
    w.u64(m.conn_id);
    w.u32(m.service_id);
    w.u8(static_cast<uint8_t>(m.role));
    w.u32(m.deadline_ms);
    w.u8(m.aead_mask);
    put_string(w, m.server_name);
}
bool decode(ByteReader& r, HandshakeJob& m) {
    uint8_t format = 0;
    return r.u8(format) && format == kHandshakeJobFormat && r.u64(m.conn_id) &&
           r.u32(m.service_id) && get_tls_role(r, m.role) && r.u32(m.deadline_ms) &&
           r.u8(m.aead_mask) && m.aead_mask != 0 && (m.aead_mask & ~kAeadAll) == 0 &&
           get_string(r, m.server_name, 255);
}

void encode(ByteWriter& w, const HandshakeFailed& m) {
    w.u8(static_cast<uint8_t>(m.reason));
    w.u8(m.alert);
    put_string(w, m.detail);
}
bool decode(ByteReader& r, HandshakeFailed& m) {
    uint8_t reason = 0;
    if (!r.u8(reason) || reason < 1 || reason > static_cast<uint8_t>(FailReason::overloaded))
        return false;
    m.reason = static_cast<FailReason>(reason);
    return r.u8(m.alert) && get_string(r, m.detail);
}

}  // namespace tlsward::ipc
