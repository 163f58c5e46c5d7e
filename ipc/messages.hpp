// Typed bodies of the IPC messages (frame.hpp has the framing). Each struct
// names its MsgType; encode() writes it, decode_body<T>() reads it back and
// fails on any short, long or out-of-range field. Both ends are built from
// this one file, so the layout has no negotiation; the hand-off message
// (handoff.hpp) carries its own format version because it holds secrets
// whose layout must never be guessed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/secret.hpp"
#include "ipc/frame.hpp"
#include "ipc/tls_settings.hpp"

namespace tlsward::ipc {

enum class ProcessRole : uint8_t { supervisor = 0, netproc = 1, cryptoproc = 2, signer = 3 };
enum class TlsRole : uint8_t { server = 0, client = 1 };

// The AEADs a record layer can run; a handshake job says which ones netproc
// has so the helper never negotiates another (BoringSSL's handoff does the same).
enum AeadBits : uint8_t {
    kAeadAes128Gcm = 1,
    kAeadAes256Gcm = 2,
    kAeadChaCha20Poly1305 = 4,
    kAeadAll = 7,
};

// Strings on the channel are u16-prefixed and at most this long: longer
// fails the encoding (and the decoding). A producer of an informational
// text that may be longer (an error detail with OpenSSL's queue in it)
// cuts it with bounded_text() before it builds the message.
inline constexpr size_t kMaxString = 4096;

// `text` cut to at most `max` bytes, "..." marking a cut.
std::string bounded_text(std::string text, size_t max = kMaxString);

struct Ready {
    static constexpr MsgType kType = MsgType::ready;
    ProcessRole role = ProcessRole::netproc;
    uint32_t generation = 0;
    uint32_t slot = 0;
};

struct Ping {
    static constexpr MsgType kType = MsgType::ping;
    uint64_t seq = 0;
};

// A helper's answer to PING carries its own handshake counts (since it
// started), which the supervisor sums and forwards to netproc's metrics.
struct Pong {
    static constexpr MsgType kType = MsgType::pong;
    uint64_t seq = 0;
    uint64_t handshakes_ok = 0;
    uint64_t handshakes_failed = 0;
    uint64_t handshakes_aborted = 0;  // dropped without an answer (netproc went away)
    uint64_t handshake_ms = 0;        // time spent on finished handshakes, as the helper saw it
};

struct Shutdown {
    static constexpr MsgType kType = MsgType::shutdown;
    uint32_t drain_ms = 0;
};

// Bytes per second with a burst; rate 0 means unlimited.
struct RateLimit {
    uint64_t rate = 0;
    uint64_t burst = 0;
    bool operator==(const RateLimit&) const = default;
};

// How netproc carries a service's established connections (issue "links
// that never stall"): record sizing, throttling, key rotation, limits.
struct LinkSettings {
    uint32_t record_size = 0;                  // 0: dynamic; else fixed plaintext per record
    uint32_t record_boost_after = 128 * 1024;  // dynamic: bytes in a burst before full records
    uint32_t record_idle_reset_ms = 1000;      // dynamic: a pause this long starts small again
    RateLimit service_read;                    // all of the service's connections together
    RateLimit service_write;
    RateLimit connection_read;  // each connection
    RateLimit connection_write;
    uint64_t key_update_bytes = 0;        // 0: only at the AEAD limit
    uint32_t key_update_interval_ms = 0;  // 0: none
    uint32_t max_connections = 0;         // 0: no limit
    uint32_t max_connections_per_source = 0;
    bool operator==(const LinkSettings&) const = default;
};

// What netproc needs to run one service's data path. Names are resolved by
// the supervisor: netproc gets addresses only.
struct NpService {
    static constexpr MsgType kType = MsgType::np_service;
    uint32_t id = 0;
    std::string name;
    TlsRole mode = TlsRole::server;
    SocketAddress target;
    uint32_t handshake_timeout_ms = 10000;
    uint32_t connect_timeout_ms = 10000;
    uint32_t idle_timeout_ms = 0;  // 0: none
    LinkSettings link;
    // PROXY protocol header written to the target before any data (server
    // mode), and whether accepted connections start with one (a load
    // balancer in front); see netproc/proxy_protocol.hpp.
    ProxyVersion proxy_protocol = ProxyVersion::none;
    bool accept_proxy = false;
    std::string server_name;  // client mode: SNI for HANDSHAKE jobs (empty: none)
    // Info-level connection lines (event=close); refusals, failures and
    // errors are logged whatever this says.
    bool log_connections = true;
};

struct NpListener {
    static constexpr MsgType kType = MsgType::np_listener;
    uint32_t service_id = 0;
    SocketAddress address;  // for logs; the socket itself is the attached fd
};

struct NpHelper {
    static constexpr MsgType kType = MsgType::np_helper;
    uint32_t slot = 0;
    uint32_t generation = 0;
};

struct NpConfigDone {
    static constexpr MsgType kType = MsgType::np_config_done;
    uint32_t generation = 0;
    uint32_t handshake_queue_limit = 0;
    uint32_t max_jobs_per_helper = 0;
    // Limits over all services together.
    RateLimit global_read;
    RateLimit global_write;
    uint32_t max_connections = 0;  // 0: no limit
};

// The listening socket of the metrics endpoint (attached), sent before
// NP_CONFIG_DONE. A configuration without one turns the endpoint off.
struct NpMetricsListener {
    static constexpr MsgType kType = MsgType::np_metrics_listener;
    SocketAddress address;  // for logs; the socket itself is the attached fd
};

// What only the supervisor knows, for netproc's metrics endpoint: sent
// with every PING, so the endpoint is at most one tick behind.
struct NpSupervisorStats {
    static constexpr MsgType kType = MsgType::np_supervisor_stats;
    uint32_t generation = 0;  // serving configuration
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
    uint64_t helper_restarts = 0;   // helpers started again after dying
    uint64_t netproc_restarts = 0;  // netprocs started again after dying
    // The helpers' own counts (PONG), every helper since the supervisor started.
    uint64_t helper_handshakes_ok = 0;
    uint64_t helper_handshakes_failed = 0;
    uint64_t helper_handshakes_aborted = 0;
    uint64_t helper_handshake_ms = 0;
};

// One service's live counts in NP_STATUS (summed over the configurations
// it ran under, so they never go back across a reload).
struct NpServiceStatus {
    uint32_t service_id = 0;
    uint64_t connections_open = 0;
    uint64_t connections_total = 0;
    uint64_t handshakes_ok = 0;
    uint64_t handshakes_failed = 0;
    uint64_t bytes_from_tls = 0;
    uint64_t bytes_to_tls = 0;
};
// At most this many in one NP_STATUS (the frame holds 64 KiB).
inline constexpr size_t kMaxStatusServices = 1024;

// netproc's live counts, the answer to the supervisor's PING (watchdog,
// STATUS=, "tlsward status", the connections lost when netproc dies).
struct NpStatus {
    static constexpr MsgType kType = MsgType::np_status;
    uint64_t seq = 0;  // the PING's
    uint32_t generation = 0;
    uint64_t connections_open = 0;
    uint64_t connections_total = 0;
    uint64_t handshakes_ok = 0;
    uint64_t handshakes_failed = 0;
    uint64_t refused = 0;  // queue full, shed or over a connection limit
    uint32_t handshakes_queued = 0;
    uint32_t handshakes_in_flight = 0;
    uint32_t helpers = 0;  // helper channels of the current generation
    uint64_t bytes_from_tls = 0;
    uint64_t bytes_to_tls = 0;
    std::vector<NpServiceStatus> services;  // the serving configuration's, by id
};

// Every helper of a generation older than this one has no job in flight
// and will get none: the supervisor may let them go.
struct NpRetired {
    static constexpr MsgType kType = MsgType::np_retired;
    uint32_t generation = 0;
};

// netproc cut a helper off (malformed message, job it was not given, wrong
// fds): the supervisor kills it, and its restart brings a fresh one, as if
// it had crashed. netproc has already failed that helper's handshakes.
struct NpHelperFailed {
    static constexpr MsgType kType = MsgType::np_helper_failed;
    uint32_t slot = 0;
    uint32_t generation = 0;
    std::string reason;
};

struct CpService {
    static constexpr MsgType kType = MsgType::cp_service;
    uint32_t id = 0;
    std::string name;
    TlsRole role = TlsRole::server;
    uint32_t handshake_timeout_ms = 10000;
    ServiceTls tls;
};

// A certificate chain (PEM, leaf first) and its private key (PEM). The key
// bytes are wiped when the message is destroyed.
struct CpCertificate {
    static constexpr MsgType kType = MsgType::cp_certificate;
    uint32_t service_id = 0;
    std::string chain_pem;
    SecretBytes key_pem;
    // Server names this certificate serves (SNI), from its SAN/CN or the
    // configuration; "*.example.com" for a wildcard. Empty: default only.
    std::vector<std::string> names;
    std::vector<uint8_t> ocsp_der;  // OCSP response to staple; empty: none
};

struct CpConfigDone {
    static constexpr MsgType kType = MsgType::cp_config_done;
    uint32_t generation = 0;
    uint32_t slot = 0;
};

struct CpNetprocChannel {
    static constexpr MsgType kType = MsgType::cp_netproc_channel;
};

constexpr uint8_t kHandshakeJobFormat = 1;

struct HandshakeJob {
    static constexpr MsgType kType = MsgType::hs_job;
    uint64_t conn_id = 0;
    uint32_t service_id = 0;
    TlsRole role = TlsRole::server;
    uint32_t deadline_ms = 10000;  // from when the helper receives the job
    uint8_t aead_mask = kAeadAll;
    std::string server_name;  // client role: SNI to send
};

enum class FailReason : uint8_t {
    alert_sent = 1,      // the helper sent a TLS alert (bad ClientHello, no shared suite, ...)
    alert_received = 2,  // the peer sent a fatal alert
    timeout = 3,         // the handshake deadline passed
    peer_closed = 4,     // EOF or reset before the handshake finished
    io_error = 5,
    internal = 6,  // the helper could not export what netproc needs
    unknown_service = 7,
    overloaded = 8,
};
// The highest FailReason: what the decoder accepts, and where tables
// indexed by reason (netproc's HandshakeFailure slots) start their own.
inline constexpr FailReason kLastFailReason = FailReason::overloaded;
const char* fail_reason_name(FailReason r);

struct HandshakeFailed {
    static constexpr MsgType kType = MsgType::hs_failed;
    FailReason reason = FailReason::internal;
    uint8_t alert = 0;  // TLS alert description when reason is alert_*
    std::string detail;
};

// encode/decode, one pair per body type.
void encode(ByteWriter& w, const Ready& m);
void encode(ByteWriter& w, const Ping& m);
void encode(ByteWriter& w, const Pong& m);
void encode(ByteWriter& w, const Shutdown& m);
void encode(ByteWriter& w, const NpService& m);
void encode(ByteWriter& w, const NpListener& m);
void encode(ByteWriter& w, const NpHelper& m);
void encode(ByteWriter& w, const NpConfigDone& m);
void encode(ByteWriter& w, const NpStatus& m);
void encode(ByteWriter& w, const NpSupervisorStats& m);
void encode(ByteWriter& w, const NpMetricsListener& m);
void encode(ByteWriter& w, const NpRetired& m);
void encode(ByteWriter& w, const NpHelperFailed& m);
void encode(ByteWriter& w, const CpService& m);
void encode(ByteWriter& w, const CpCertificate& m);
void encode(ByteWriter& w, const CpConfigDone& m);
void encode(ByteWriter& w, const CpNetprocChannel& m);
void encode(ByteWriter& w, const HandshakeJob& m);
void encode(ByteWriter& w, const HandshakeFailed& m);

bool decode(ByteReader& r, Ready& m);
bool decode(ByteReader& r, Ping& m);
bool decode(ByteReader& r, Pong& m);
bool decode(ByteReader& r, Shutdown& m);
bool decode(ByteReader& r, NpService& m);
bool decode(ByteReader& r, NpListener& m);
bool decode(ByteReader& r, NpHelper& m);
bool decode(ByteReader& r, NpConfigDone& m);
bool decode(ByteReader& r, NpStatus& m);
bool decode(ByteReader& r, NpSupervisorStats& m);
bool decode(ByteReader& r, NpMetricsListener& m);
bool decode(ByteReader& r, NpRetired& m);
bool decode(ByteReader& r, NpHelperFailed& m);
bool decode(ByteReader& r, CpService& m);
bool decode(ByteReader& r, CpCertificate& m);
bool decode(ByteReader& r, CpConfigDone& m);
bool decode(ByteReader& r, CpNetprocChannel& m);
bool decode(ByteReader& r, HandshakeJob& m);
bool decode(ByteReader& r, HandshakeFailed& m);

// Encodes a body. It fails (kind internal: our own message did not fit)
// when a field is over what its encoding holds (a length prefix, a
// string over kMaxString) or the body over one frame; the caller sends
// nothing then (UvChannel::send takes this Result as it is). The buffer
// wipes every block it frees, growing or going (bodies carry keys).
template <class T>
Result<SecureBytes> encode_body(const T& m) {
    SecureBytes out;
    ByteWriter w(out);
    encode(w, m);
    if (!w.ok())
        return err(ErrorKind::internal, "%s: a field is longer than its encoding holds",
                   msg_type_name(T::kType));
    if (out.size() > kMaxBody)
        return err(ErrorKind::internal, "%s: body of %zu bytes exceeds the %zu-byte limit",
                   msg_type_name(T::kType), out.size(), kMaxBody);
    return out;
}

// Decodes a whole body: every byte must be consumed, every field in range.
template <class T>
Result<T> decode_body(std::span<const uint8_t> body) {
    T m{};
    ByteReader r(body);
    if (!decode(r, m) || !r.done())
        return err(ErrorKind::protocol, "%s: malformed body (%zu bytes)", msg_type_name(T::kType),
                   body.size());
    return m;
}

template <class T>
Result<T> decode_message(const Message& msg) {
    if (msg.type() != T::kType)
        return err(ErrorKind::protocol, "expected %s, got %s", msg_type_name(T::kType),
                   msg_type_name(msg.type()));
    return decode_body<T>(msg.bytes());
}

}  // namespace tlsward::ipc
