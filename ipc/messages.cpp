#include "ipc/messages.hpp"

#include <algorithm>

namespace tlsward::ipc {

namespace {

// The encoder truncates nothing: a string over kMaxString fails the
// encoding. Producers bound what they build where the value is made
// (configuration loading, SNI from OpenSSL which is at most 255,
// bounded_text() for error details).
void put_string(ByteWriter& w, const std::string& s) {
    if (s.size() > kMaxString) return w.fail();
    w.u16_string(s);
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
    if (!r.u8(v) || v > static_cast<uint8_t>(ProcessRole::signer)) return false;
    out = static_cast<ProcessRole>(v);
    return true;
}

bool get_tls_role(ByteReader& r, TlsRole& out) {
    uint8_t v = 0;
    if (!r.u8(v) || v > static_cast<uint8_t>(TlsRole::client)) return false;
    out = static_cast<TlsRole>(v);
    return true;
}

void put_rate(ByteWriter& w, const RateLimit& r) {
    w.u64(r.rate);
    w.u64(r.burst);
}

bool get_rate(ByteReader& r, RateLimit& out) {
    // A limited bucket must hold at least one byte; a burst without a rate
    // means nothing.
    return r.u64(out.rate) && r.u64(out.burst) && (out.rate == 0 || out.burst > 0);
}

void put_link(ByteWriter& w, const LinkSettings& l) {
    w.u32(l.record_size);
    w.u32(l.record_boost_after);
    w.u32(l.record_idle_reset_ms);
    put_rate(w, l.service_read);
    put_rate(w, l.service_write);
    put_rate(w, l.connection_read);
    put_rate(w, l.connection_write);
    w.u64(l.key_update_bytes);
    w.u32(l.key_update_interval_ms);
    w.u32(l.max_connections);
    w.u32(l.max_connections_per_source);
}

bool get_link(ByteReader& r, LinkSettings& l) {
    return r.u32(l.record_size) && l.record_size <= 16384 && r.u32(l.record_boost_after) &&
           r.u32(l.record_idle_reset_ms) && get_rate(r, l.service_read) &&
           get_rate(r, l.service_write) && get_rate(r, l.connection_read) &&
           get_rate(r, l.connection_write) && r.u64(l.key_update_bytes) &&
           r.u32(l.key_update_interval_ms) && r.u32(l.max_connections) &&
           r.u32(l.max_connections_per_source);
}

bool get_proxy(ByteReader& r, NpService& m) {
    uint8_t version = 0;
    uint8_t accept = 0;
    ByteReader name;
    if (!r.u8(version) || version > static_cast<uint8_t>(ProxyVersion::v2) || !r.u8(accept) ||
        accept > 1 || !r.u8_prefixed(name) || name.remaining() > kMaxNameLength)
        return false;
    m.proxy_protocol = static_cast<ProxyVersion>(version);
    m.accept_proxy = accept == 1;
    m.server_name = std::string(as_string_view(name.rest()));
    return true;
}

}  // namespace

std::string bounded_text(std::string text, size_t max) {
    static constexpr std::string_view kCut = "...";
    if (text.size() <= max) return text;
    if (max < kCut.size()) return text.substr(0, max);
    text.resize(max - kCut.size());
    text += kCut;
    return text;
}

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
    w.u64(m.handshakes_ok);
    w.u64(m.handshakes_failed);
    w.u64(m.handshakes_aborted);
    w.u64(m.handshake_ms);
}
bool decode(ByteReader& r, Pong& m) {
    return r.u64(m.seq) && r.u64(m.handshakes_ok) && r.u64(m.handshakes_failed) &&
           r.u64(m.handshakes_aborted) && r.u64(m.handshake_ms);
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
    put_link(w, m.link);
    w.u8(static_cast<uint8_t>(m.proxy_protocol));
    w.u8(m.accept_proxy ? 1 : 0);
    w.u8_string(m.server_name);
    w.u8(m.log_connections ? 1 : 0);
}
bool decode(ByteReader& r, NpService& m) {
    uint8_t log_connections = 0;
    if (!(r.u32(m.id) && get_string(r, m.name) && get_tls_role(r, m.mode) &&
          SocketAddress::decode(r, m.target) && r.u32(m.handshake_timeout_ms) &&
          r.u32(m.connect_timeout_ms) && r.u32(m.idle_timeout_ms) && get_link(r, m.link) &&
          get_proxy(r, m) && r.u8(log_connections) && log_connections <= 1))
        return false;
    m.log_connections = log_connections == 1;
    return true;
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
    put_rate(w, m.global_read);
    put_rate(w, m.global_write);
    w.u32(m.max_connections);
}
bool decode(ByteReader& r, NpConfigDone& m) {
    return r.u32(m.generation) && r.u32(m.handshake_queue_limit) && r.u32(m.max_jobs_per_helper) &&
           get_rate(r, m.global_read) && get_rate(r, m.global_write) && r.u32(m.max_connections);
}

void encode(ByteWriter& w, const NpStatus& m) {
    w.u64(m.seq);
    w.u32(m.generation);
    w.u64(m.connections_open);
    w.u64(m.connections_total);
    w.u64(m.handshakes_ok);
    w.u64(m.handshakes_failed);
    w.u64(m.refused);
    w.u32(m.handshakes_queued);
    w.u32(m.handshakes_in_flight);
    w.u32(m.helpers);
    w.u64(m.bytes_from_tls);
    w.u64(m.bytes_to_tls);
    size_t n = std::min(m.services.size(), kMaxStatusServices);
    w.u16(n);
    for (size_t i = 0; i < n; ++i) {
        const NpServiceStatus& s = m.services[i];
        w.u32(s.service_id);
        w.u64(s.connections_open);
        w.u64(s.connections_total);
        w.u64(s.handshakes_ok);
        w.u64(s.handshakes_failed);
        w.u64(s.bytes_from_tls);
        w.u64(s.bytes_to_tls);
    }
}
bool decode(ByteReader& r, NpStatus& m) {
    uint16_t n = 0;
    if (!(r.u64(m.seq) && r.u32(m.generation) && r.u64(m.connections_open) &&
          r.u64(m.connections_total) && m.connections_open <= m.connections_total &&
          r.u64(m.handshakes_ok) && r.u64(m.handshakes_failed) && r.u64(m.refused) &&
          r.u32(m.handshakes_queued) && r.u32(m.handshakes_in_flight) && r.u32(m.helpers) &&
          r.u64(m.bytes_from_tls) && r.u64(m.bytes_to_tls) && r.u16(n) && n <= kMaxStatusServices))
        return false;
    m.services.resize(n);
    for (NpServiceStatus& s : m.services) {
        if (!(r.u32(s.service_id) && r.u64(s.connections_open) && r.u64(s.connections_total) &&
              s.connections_open <= s.connections_total && r.u64(s.handshakes_ok) &&
              r.u64(s.handshakes_failed) && r.u64(s.bytes_from_tls) && r.u64(s.bytes_to_tls)))
            return false;
    }
    return true;
}

void encode(ByteWriter& w, const NpMetricsListener& m) {
    m.address.encode(w);
}
bool decode(ByteReader& r, NpMetricsListener& m) {
    return SocketAddress::decode(r, m.address);
}

void encode(ByteWriter& w, const NpSupervisorStats& m) {
    w.u32(m.generation);
    w.u64(m.reloads_ok);
    w.u64(m.reloads_failed);
    w.u64(m.helper_restarts);
    w.u64(m.netproc_restarts);
    w.u64(m.helper_handshakes_ok);
    w.u64(m.helper_handshakes_failed);
    w.u64(m.helper_handshakes_aborted);
    w.u64(m.helper_handshake_ms);
}
bool decode(ByteReader& r, NpSupervisorStats& m) {
    return r.u32(m.generation) && r.u64(m.reloads_ok) && r.u64(m.reloads_failed) &&
           r.u64(m.helper_restarts) && r.u64(m.netproc_restarts) && r.u64(m.helper_handshakes_ok) &&
           r.u64(m.helper_handshakes_failed) && r.u64(m.helper_handshakes_aborted) &&
           r.u64(m.helper_handshake_ms);
}

void encode(ByteWriter& w, const NpRetired& m) {
    w.u32(m.generation);
}
bool decode(ByteReader& r, NpRetired& m) {
    return r.u32(m.generation);
}

void encode(ByteWriter& w, const NpHelperFailed& m) {
    w.u32(m.slot);
    w.u32(m.generation);
    put_string(w, m.reason);
}
bool decode(ByteReader& r, NpHelperFailed& m) {
    return r.u32(m.slot) && r.u32(m.generation) && get_string(r, m.reason);
}

void encode(ByteWriter& w, const CpService& m) {
    w.u32(m.id);
    put_string(w, m.name);
    w.u8(static_cast<uint8_t>(m.role));
    w.u32(m.handshake_timeout_ms);
    encode(w, m.tls);
}
bool decode(ByteReader& r, CpService& m) {
    return r.u32(m.id) && get_string(r, m.name) && get_tls_role(r, m.role) &&
           r.u32(m.handshake_timeout_ms) && decode(r, m.tls);
}

void encode(ByteWriter& w, const CpCertificate& m) {
    w.u32(m.service_id);
    w.u32_bytes(as_bytes(m.chain_pem));
    w.u32_bytes(m.key_pem.view());
    put_string_list(w, m.names);
    w.u32_bytes(m.ocsp_der);
}
bool decode(ByteReader& r, CpCertificate& m) {
    ByteReader chain;
    ByteReader key;
    ByteReader ocsp;
    if (!r.u32(m.service_id) || !r.u32_prefixed(chain) || !r.u32_prefixed(key) ||
        !get_string_list(r, m.names, kMaxListEntries, kMaxNameLength) || !r.u32_prefixed(ocsp))
        return false;
    auto c = chain.rest();
    m.chain_pem.assign(reinterpret_cast<const char*>(c.data()), c.size());
    m.key_pem = SecretBytes(key.rest());
    auto o = ocsp.rest();
    m.ocsp_der.assign(o.begin(), o.end());
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
    if (!r.u8(reason) || reason < 1 || reason > static_cast<uint8_t>(kLastFailReason)) return false;
    m.reason = static_cast<FailReason>(reason);
    return r.u8(m.alert) && get_string(r, m.detail);
}

}  // namespace tlsward::ipc
