// The configuration model: what the supervisor reads from tlsward.toml (or
// builds from "tlsward server ..." flags) before it spawns anything. Every
// key of the file is one entry of the key table (config_keys.cpp), which
// reads, validates and prints it; config_loader.cpp walks the document with
// it (config_toml.cpp, the only file that includes toml++, turns the text
// into that document). The value rules shared with the command line
// (durations, names, ranges) live in config_values.cpp.
// docs/configuration.md documents every key (tests/unit/test_config_docs.cpp
// checks that it and the man pages name each one).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "ipc/messages.hpp"

namespace tlsward::supervisor {

// Where a value was written: 1-based line and column; 0 when it was not
// read from a file (a default, the command line).
struct SourcePosition {
    int line = 0;
    int column = 0;

    auto operator<=>(const SourcePosition&) const = default;
};

// Where each key's value (and each element of an array) stood in the file,
// so that a problem found after parsing (an option of the wrong mode, a file
// `tlsward check` cannot read) names the value's line. Not part of what the
// configuration means: configurations that differ only in layout are equal.
class ValuePositions {
public:
    void set(std::string_view key, SourcePosition value, std::vector<SourcePosition> elements);
    // The value's position; {} when the key was not in the file.
    SourcePosition of(std::string_view key) const;
    // Element `index` of an array value; the value's own position when it
    // is not an array (a single string where a list may stand).
    SourcePosition of(std::string_view key, size_t index) const;

    bool operator==(const ValuePositions&) const { return true; }

private:
    struct Entry {
        std::string key;
        SourcePosition value;
        std::vector<SourcePosition> elements;
    };
    std::vector<Entry> entries_;
};

struct CertificateFiles {
    std::string cert_path;  // PEM chain, leaf first
    std::string key_path;   // PEM private key; may equal cert_path (combined file)
    // Server names (SNI) this certificate serves; empty: its DNS SANs (or CN).
    std::vector<std::string> names;
    std::string ocsp_path;  // DER OCSP response to staple; empty: none
    ValuePositions where;   // cert, key, ocsp, names

    bool operator==(const CertificateFiles&) const = default;
};

// TLS options beyond certificates (docs/configuration.md, "TLS options").
// Which mode each applies to is checked by check_tls_options().
struct TlsConfig {
    // Server mode: client certificates.
    std::string client_ca;  // PEM file or directory; empty: none asked for
    ipc::VerifyPeer verify_client = ipc::VerifyPeer::none;  // require when client_ca is set
    bool verify_client_set = false;                         // given explicitly
    std::vector<std::string> allow_cn;
    std::vector<std::string> allow_dns;   // lower case; "*.example.com" allowed
    std::vector<std::string> allow_uri;   // exact, or a prefix ending in '*'
    std::vector<std::string> allow_spki;  // SHA-256, 64 lower-case hex digits
    std::vector<std::string> crl;         // PEM or DER CRL files
    // Server mode: names, sessions, PROXY protocol.
    ipc::UnknownSni unknown_sni = ipc::UnknownSni::use_default;
    bool session_tickets = true;
    ipc::ProxyVersion proxy_protocol = ipc::ProxyVersion::none;
    bool accept_proxy = false;
    // Client mode: how the target is verified.
    std::string ca;                     // PEM file or directory; empty: the system store
    std::string server_name;            // SNI; empty: the target's host name (none for an IP)
    std::string verify_name;            // empty: server_name, else the target's host
    std::vector<std::string> pin_spki;  // SHA-256, 64 lower-case hex digits
    // Both: ALPN protocols, in order of preference.
    std::vector<std::string> alpn;

    bool operator==(const TlsConfig&) const = default;
};

struct ServiceConfig {
    std::string name;  // unique; [a-zA-Z0-9_.-]{1,64}
    ipc::TlsRole mode = ipc::TlsRole::server;
    std::vector<std::string> listen;  // numeric "ADDR:PORT" / "[V6]:PORT" / "*:PORT", at least one
    std::string target;               // "HOST:PORT", "[V6]:PORT" or "unix:/path"
    std::vector<CertificateFiles> certificates;  // server: at least one; client: at most one
    uint32_t handshake_timeout_ms = 10000;
    uint32_t connect_timeout_ms = 10000;
    uint32_t idle_timeout_ms = 0;  // 0 = none
    ipc::LinkSettings link;        // record sizing, throttling, key rotation, limits
    TlsConfig tls;                 // mTLS, SNI, ALPN, PROXY, tickets, client verification
    bool log_connections = true;   // info-level close lines of established connections
    int line = 0;                  // where the [[service]] table starts (for messages); 0 = none
    ValuePositions where;          // each key's value (cert/key/ocsp are in certificates too)

    bool operator==(const ServiceConfig&) const = default;
};

struct GlobalConfig {
    unsigned helpers = 0;  // 0 = number of online CPUs
    LogLevel log_level = LogLevel::info;
    uint32_t handshake_queue_limit = 4096;
    uint32_t max_jobs_per_helper = 256;
    uint32_t drain_ms = 30000;
    std::string control_socket;  // empty = default under the runtime dir
    std::string user = "tlsward";
    std::string crypto_user = "tlsward-crypto";
    // Empty root-owned directory the children chroot into (when root).
    std::string chroot_dir = "/run/tlsward/empty";
    // All services together; rate 0 = unlimited.
    ipc::RateLimit read_rate;
    ipc::RateLimit write_rate;
    uint32_t max_connections = 0;  // 0 = no limit
    // Helpers run at this nice value so that handshakes piling up never
    // take CPU from established connections (netproc stays at 0).
    int helper_nice = 10;
    // netproc runs at this nice value (negative: ahead of everything else
    // on the machine at nice 0, such as the backend or a load generator).
    // Lowering it needs CAP_SYS_NICE; without it netproc stays at 0.
    int netproc_nice = -5;
    // Above 0: netproc runs SCHED_RR at this real-time priority, ahead of
    // every process at any nice value (opt-in; needs CAP_SYS_NICE or
    // RLIMIT_RTPRIO). 0: netproc stays a normal process at netproc_nice.
    int netproc_realtime_priority = 0;
    // Session tickets: keys shared by all helpers, generated and rotated
    // by the supervisor, or read from a file several instances share.
    std::string ticket_key_file;                    // empty: generated
    uint32_t ticket_key_rotation_ms = 3600 * 1000;  // generated keys only
    uint32_t session_lifetime_ms = 2 * 3600 * 1000;
    ValuePositions where;

    bool operator==(const GlobalConfig&) const = default;
};

// [metrics]: the Prometheus endpoint netproc serves; off when listen is empty.
struct MetricsConfig {
    std::string listen;  // "127.0.0.1:9100", "[::1]:9100" or "unix:/path"
    ValuePositions where;

    bool operator==(const MetricsConfig&) const = default;
};

struct Config {
    GlobalConfig global;
    MetricsConfig metrics;
    std::vector<ServiceConfig> services;
    std::string source;  // file path as given, or "command line"

    bool operator==(const Config&) const = default;
};

inline constexpr const char* kDefaultConfigPath = "/etc/tlsward/tlsward.toml";
inline constexpr const char* kCommandLineSource = "command line";

// Limits (inclusive). docs/configuration.md lists the same numbers.
inline constexpr unsigned kMaxHelpers = 1024;
inline constexpr uint32_t kMinHandshakeTimeoutMs = 100;
inline constexpr uint32_t kMaxHandshakeTimeoutMs = 5 * 60 * 1000;
inline constexpr uint32_t kMinConnectTimeoutMs = 100;
inline constexpr uint32_t kMaxConnectTimeoutMs = 5 * 60 * 1000;
inline constexpr uint32_t kMinIdleTimeoutMs = 1000;  // unless 0 (none)
inline constexpr uint32_t kMaxIdleTimeoutMs = 7 * 24 * 3600 * 1000u;
inline constexpr uint32_t kMaxDrainMs = 3600 * 1000;
inline constexpr uint32_t kMinHandshakeQueueLimit = 1;
inline constexpr uint32_t kMaxHandshakeQueueLimit = 1000000;
inline constexpr uint32_t kMinJobsPerHelper = 1;
inline constexpr uint32_t kMaxJobsPerHelper = 65536;

// Parses and validates a TOML configuration. Every error line reads
// "FILE:LINE: what is wrong", LINE being that of the value that is wrong
// (of the table for a missing key); when several things are wrong, all of
// them are reported, one per line, in file order. Unknown keys are errors,
// with a suggestion. Relative cert/key paths are taken relative to the
// directory of source_name (the three-argument form takes that directory
// explicitly). Never throws.
Result<Config> parse_config(std::string_view text, const std::string& source_name);
Result<Config> parse_config(std::string_view text, const std::string& source_name,
                            const std::string& base_dir);
// Reads PATH and parses it; a read error reads "PATH: cannot read: <strerror>".
// Relative cert/key paths become absolute (relative to the file's directory).
Result<Config> load_config_file(const std::string& path);
// The configuration in effect as TOML that parses back to the same
// configuration (`tlsward check --print`): every key with its value,
// defaults filled in, keys without a value as comments. Secret values are
// never printed (config_print.cpp).
std::string format_config(const Config& config);

// --- Value rules shared by the TOML loader and the command line ------------
// Each returns a message without location; the caller prefixes "FILE:LINE:"
// or the flag name.

// "500ms", "10s", "2m", "1h" (a whole number and a unit), in milliseconds.
// Integer seconds arrive as numbers from TOML; with allow_bare_seconds a bare
// number of seconds ("10") is taken too (the command line documents SECONDS).
// Huge values saturate (callers check ranges), they never wrap.
Result<uint64_t> parse_duration_ms(std::string_view text, bool allow_bare_seconds);
// Renders a duration the way parse_duration_ms reads it ("10s", "500ms", "5m").
std::string format_duration_ms(uint64_t ms);
// A byte count: "65536", "64KiB", "10MiB", "1GiB" (powers of 1024) or
// "64kB", "10MB", "1GB" (powers of 1000). Rates are bytes per second.
Result<uint64_t> parse_size_bytes(std::string_view text);
// The burst a rate gets when none is configured: 100 ms of traffic, and at
// least one full TLS record.
uint64_t default_burst(uint64_t rate);
inline constexpr uint64_t kMaxRate = uint64_t{1} << 40;  // 1 TiB/s: "unlimited" in practice
inline constexpr uint32_t kMinRecordSize = 512;
inline constexpr int kMaxHelperNice = 19;
inline constexpr int kMinNetprocNice = -20;
inline constexpr int kMaxRealtimePriority = 99;
// [a-zA-Z0-9_.-]{1,64}.
bool valid_service_name(std::string_view name);

// --- TLS option values (config_tls.cpp) ---------------------------------------
inline constexpr const char* kSystemCaFile = "/etc/ssl/certs/ca-certificates.crt";
inline constexpr uint32_t kMinSessionLifetimeMs = 60 * 1000;
inline constexpr uint32_t kMaxSessionLifetimeMs = 7 * 24 * 3600 * 1000u;
inline constexpr uint32_t kMinTicketRotationMs = 60 * 1000;
inline constexpr uint32_t kMaxTicketRotationMs = 7 * 24 * 3600 * 1000u;
// An SPKI SHA-256 pin: 64 hex digits (colons allowed), base64 (44
// characters) or "sha256//BASE64"; returns 64 lower-case hex digits.
Result<std::string> parse_spki_pin(std::string_view text);
// A host name or a "*.example.com" wildcard, lower-cased.
Result<std::string> parse_dns_pattern(std::string_view text);
// An ALPN protocol name: 1..255 printable ASCII characters.
Status check_alpn_protocol(std::string_view text);
// "h2,http/1.1" (the command line's form).
Result<std::vector<std::string>> parse_alpn_list(std::string_view text);
// A host name or an IP literal (server_name, verify_name).
Status check_host_or_ip(std::string_view text);
bool is_ip_literal(const std::string& text);
// The SNI sent and the name verified in client mode, with the defaults
// taken from the target ("backend.example:443" -> both
// "backend.example"; "192.0.2.1:443" -> no SNI, verify the IP).
struct ClientNames {
    std::string server_name;
    std::string verify_name;
};
Result<ClientNames> client_names(const ServiceConfig& s);
// Options set for the wrong mode, options that need another (allow_cn
// without client_ca), a unix: target in client mode without a name. `flag`
// names options as command-line flags (--allow-cn) instead of keys.
Status check_tls_options(const ServiceConfig& s, bool flag);
// The same, one problem each, with the key it is about (the loader names
// the line of that key's value).
struct OptionProblem {
    const char* key;
    std::string text;
};
std::vector<OptionProblem> tls_option_problems(const ServiceConfig& s, bool flag);
// Target syntax only (no DNS): "HOST:PORT" with PORT 1..65535, "[V6]:PORT",
// or "unix:/absolute/path".
Status check_target_syntax(const std::string& target);
// A user name for setuid: 1..32 characters, no '/', ':' or whitespace.
bool valid_user_name(std::string_view name);

}  // namespace tlsward::supervisor
