// The configuration model: what the supervisor reads from tlsward.toml (or
// builds from "tlsward server ..." flags) before it spawns anything. Parsing
// lives in config_loader.cpp (the only file that includes toml++); the value
// rules shared with the command line (durations, names, ranges) live in
// config_values.cpp. docs/configuration.md documents every key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "ipc/messages.hpp"

namespace tlsward::supervisor {

struct CertificateFiles {
    std::string cert_path;  // PEM chain, leaf first
    std::string key_path;   // PEM private key; may equal cert_path (combined file)

    bool operator==(const CertificateFiles&) const = default;
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
    int line = 0;                  // where the [[service]] table starts (for messages); 0 = none

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

    bool operator==(const GlobalConfig&) const = default;
};

struct Config {
    GlobalConfig global;
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
// "FILE:LINE: what is wrong"; when several things are wrong, all of them are
// reported, one per line, in file order. Unknown keys are errors. Relative
// cert/key paths are taken relative to the directory of source_name (the
// three-argument form takes that directory explicitly). Never throws.
Result<Config> parse_config(std::string_view text, const std::string& source_name);
Result<Config> parse_config(std::string_view text, const std::string& source_name,
                            const std::string& base_dir);
// Reads PATH and parses it; a read error reads "PATH: cannot read: <strerror>".
// Relative cert/key paths become absolute (relative to the file's directory).
Result<Config> load_config_file(const std::string& path);

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
// [a-zA-Z0-9_.-]{1,64}.
bool valid_service_name(std::string_view name);
// Target syntax only (no DNS): "HOST:PORT" with PORT 1..65535, "[V6]:PORT",
// or "unix:/absolute/path".
Status check_target_syntax(const std::string& target);
// A user name for setuid: 1..32 characters, no '/', ':' or whitespace.
bool valid_user_name(std::string_view name);

}  // namespace tlsward::supervisor
