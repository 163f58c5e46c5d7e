// Reads tlsward.toml into a Config. The only file that includes toml++ (it is
// slow to compile). Every problem is collected with the line it was found on
// and reported as "FILE:LINE: what is wrong"; unknown keys are problems too,
// because a typo silently ignored is a setting silently lost.
#include <toml++/toml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/config.hpp"
#include "supervisor/credentials.hpp"
#include "supervisor/metrics_listener.hpp"
#include "supervisor/resolve.hpp"

namespace tlsward::supervisor {
namespace {

constexpr const char* kGlobalKeys[] = {
    "helpers",
    "log_level",
    "handshake_queue_limit",
    "max_jobs_per_helper",
    "drain_time",
    "control_socket",
    "user",
    "crypto_user",
    "chroot_dir",
    "max_connections",
    "read_rate",
    "write_rate",
    "rate_burst",
    "helper_nice",
    "netproc_nice",
    "netproc_realtime_priority",
    // TLS sessions (config_tls.cpp)
    "ticket_key_file",
    "ticket_key_rotation",
    "session_lifetime",
};
constexpr const char* kServiceKeys[] = {
    "name",
    "mode",
    "listen",
    "target",
    "cert",
    "key",
    "certificate",
    "handshake_timeout",
    "connect_timeout",
    "idle_timeout",
    "max_connections",
    "max_connections_per_source",
    "read_rate",
    "write_rate",
    "rate_burst",
    "connection_read_rate",
    "connection_write_rate",
    "connection_rate_burst",
    "record_size",
    "record_boost_after",
    "record_idle_reset",
    "key_update_after",
    "key_update_interval",
    // TLS options (docs/configuration.md, "TLS options")
    "ocsp",
    "client_ca",
    "verify_client",
    "allow_cn",
    "allow_dns",
    "allow_uri",
    "allow_spki",
    "crl",
    "unknown_sni",
    "session_tickets",
    "proxy_protocol",
    "accept_proxy",
    "ca",
    "server_name",
    "verify_name",
    "pin_spki",
    "alpn",
    // Logging
    "log_connections",
};
constexpr const char* kMetricsKeys[] = {"listen"};
constexpr const char* kCertificateKeys[] = {"cert", "key", "names", "ocsp"};
constexpr const char* kTopKeys[] = {"global", "service", "metrics"};

// Where else a misplaced key belongs, for "(helpers belongs in [global])".
struct KeySet {
    std::span<const char* const> keys;
    const char* where;
};
const KeySet kAllSets[] = {
    {kGlobalKeys, "[global]"},
    {kServiceKeys, "[[service]]"},
    {kMetricsKeys, "[metrics]"},
    {kTopKeys, "the top level"},
};

// Optimal string alignment distance (Levenshtein plus adjacent swaps), so
// "listne" is one edit from "listen".
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// A string as it appears in a message: quoted, control characters escaped,
// long values cut.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    size_t n = 0;
    for (char c : s) {
        if (++n > 100) {
            out += "...";
            break;
        }
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += strfmt("\\x%02x", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// What the user wrote, for "..., got X".
std::string describe(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string:
            return quoted(n.as_string()->get());
        case toml::node_type::integer:
            return strfmt("%lld", static_cast<long long>(n.as_integer()->get()));
        case toml::node_type::floating_point:
            return strfmt("%g", n.as_floating_point()->get());
        case toml::node_type::boolean:
            return n.as_boolean()->get() ? "true" : "false";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        default:
            return "nothing";
    }
}

int line_of(const toml::node& n) {
    return static_cast<int>(n.source().begin.line);
}

std::string dirname_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

struct Problem {
    int line;
    std::string text;
};

class Loader {
public:
    Loader(std::string source, std::string base_dir)
        : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

    Result<Config> run(std::string_view text) {
        toml::table root;
        try {
            root = toml::parse(text, source_);
        } catch (const toml::parse_error& e) {
            return Error{ErrorKind::config, location(static_cast<int>(e.source().begin.line)) +
                                                std::string(e.description())};
        }
        config_.source = source_;
        check_keys(root, kTopKeys, "the top level");
        if (const toml::node* g = root.get("global")) {
            if (const toml::table* t = g->as_table())
                parse_global(*t);
            else
                fail(line_of(*g), "global must be a table ([global]), got " + describe(*g));
        }
        if (const toml::node* m = root.get("metrics")) {
            if (const toml::table* t = m->as_table())
                parse_metrics(*t);
            else
                fail(line_of(*m), "metrics must be a table ([metrics]), got " + describe(*m));
        }
        parse_services(root);
        return finish();
    }

private:
    std::string location(int line) const {
        return line > 0 ? strfmt("%s:%d: ", source_.c_str(), line) : source_ + ": ";
    }

    void fail(int line, std::string text) { problems_.push_back({line, std::move(text)}); }

    Result<Config> finish() {
        if (problems_.empty()) return std::move(config_);
        std::stable_sort(problems_.begin(), problems_.end(),
                         [](const Problem& a, const Problem& b) { return a.line < b.line; });
        std::string all;
        for (const Problem& p : problems_) {
            if (!all.empty()) all += '\n';
            all += location(p.line) + p.text;
        }
        return Error{ErrorKind::config, std::move(all)};
    }

    // Reports unknown keys and returns the known keys they were taken for
    // ("listne" -> "listen"), so that "listen is missing" is not reported too.
    std::set<std::string> check_keys(const toml::table& t, std::span<const char* const> known,
                                     const char* where) {
        std::set<std::string> suggested;
        for (auto&& [k, v] : t) {
            std::string_view key = k.str();
            if (std::find(known.begin(), known.end(), key) != known.end()) continue;
            std::string msg = strfmt("unknown key %s %s %s", quoted(key).c_str(),
                                     where[0] == '[' ? "in" : "at", where);
            std::string hint;
            const char* guess = nullptr;
            size_t best = SIZE_MAX;
            for (const char* cand : known) {
                if (key.size() > 64) break;  // no suggestion for a runaway key
                std::string_view c = cand;
                size_t d = lower(key) == c ? 0 : edit_distance(key, c);
                size_t limit = std::max(key.size(), c.size()) >= 5 ? 2 : 1;
                if (d <= limit && d < best) {
                    best = d;
                    guess = cand;
                }
            }
            if (guess != nullptr) {
                hint = strfmt(" (did you mean \"%s\"?)", guess);
                suggested.insert(guess);
            }
            if (hint.empty()) {
                for (const KeySet& other : kAllSets) {
                    if (std::string_view(other.where) == where) continue;
                    if (std::find(other.keys.begin(), other.keys.end(), key) != other.keys.end()) {
                        hint = strfmt(" (%s belongs in %s)", std::string(key).c_str(), other.where);
                        break;
                    }
                }
            }
            int line = static_cast<int>(k.source().begin.line);
            if (line == 0) line = line_of(v);
            fail(line, msg + hint);
        }
        return suggested;
    }

    bool get_string(const toml::node& n, const std::string& what, std::string& out) {
        if (const auto* s = n.as_string()) {
            out = s->get();
            if (out.find('\0') != std::string::npos) {
                fail(line_of(n), what + " must not contain a NUL character");
                return false;
            }
            return true;
        }
        fail(line_of(n), what + " must be a string, got " + describe(n));
        return false;
    }

    bool get_uint(const toml::node& n, const std::string& what, uint64_t min, uint64_t max,
                  uint64_t& out) {
        const auto* i = n.as_integer();
        if (i == nullptr || i->get() < 0 || static_cast<uint64_t>(i->get()) < min ||
            static_cast<uint64_t>(i->get()) > max) {
            fail(line_of(n), strfmt("%s must be an integer from %llu to %llu, got %s", what.c_str(),
                                    static_cast<unsigned long long>(min),
                                    static_cast<unsigned long long>(max), describe(n).c_str()));
            return false;
        }
        out = static_cast<uint64_t>(i->get());
        return true;
    }

    // Integer seconds or "500ms" / "10s" / "2m" / "1h". With allow_zero, 0
    // is accepted whatever min says (it means "none").
    bool get_duration(const toml::node& n, const std::string& what, uint64_t min, uint64_t max,
                      bool allow_zero, uint32_t& out) {
        uint64_t ms = 0;
        bool parsed = false;
        if (const auto* i = n.as_integer()) {
            if (i->get() >= 0) {
                uint64_t secs = static_cast<uint64_t>(i->get());
                ms = secs > (uint64_t{1} << 40) ? (uint64_t{1} << 50) : secs * 1000;
                parsed = true;
            }
        } else if (const auto* s = n.as_string()) {
            auto d = parse_duration_ms(s->get(), false);
            if (d) {
                ms = d.value();
                parsed = true;
            }
        }
        if (!parsed) {
            fail(line_of(n),
                 what + " must be a duration like \"10s\" or \"500ms\", got " + describe(n));
            return false;
        }
        if (allow_zero && ms == 0) {
            out = 0;
            return true;
        }
        if (ms < min || ms > max) {
            fail(line_of(n),
                 strfmt("%s must be %sbetween %s and %s, got %s", what.c_str(),
                        allow_zero ? "0 (none) or " : "", format_duration_ms(min).c_str(),
                        format_duration_ms(max).c_str(), describe(n).c_str()));
            return false;
        }
        out = static_cast<uint32_t>(ms);
        return true;
    }

    // A byte count: an integer or "64KiB" / "10MB" (see parse_size_bytes).
    bool get_size(const toml::node& n, const std::string& what, uint64_t min, uint64_t max,
                  uint64_t& out) {
        uint64_t v = 0;
        bool parsed = false;
        if (const auto* i = n.as_integer()) {
            if (i->get() >= 0) {
                v = static_cast<uint64_t>(i->get());
                parsed = true;
            }
        } else if (const auto* str = n.as_string()) {
            auto b = parse_size_bytes(str->get());
            if (b) {
                v = b.value();
                parsed = true;
            }
        }
        if (!parsed) {
            fail(line_of(n),
                 what + " must be a size like \"64KiB\" or \"10MB\", got " + describe(n));
            return false;
        }
        if (v != 0 && (v < min || v > max)) {
            fail(line_of(n), strfmt("%s must be 0 (none) or from %llu to %llu bytes, got %s",
                                    what.c_str(), static_cast<unsigned long long>(min),
                                    static_cast<unsigned long long>(max), describe(n).c_str()));
            return false;
        }
        out = v;
        return true;
    }

    // "<prefix>read_rate", "<prefix>write_rate" and "<prefix>rate_burst" of a
    // table: bytes per second, the burst defaulting to 100 ms of traffic.
    void get_rates(const toml::table& t, const std::string& prefix, const std::string& pre,
                   ipc::RateLimit& read, ipc::RateLimit& write) {
        uint64_t v = 0;
        if (const toml::node* n = t.get(prefix + "read_rate");
            n && get_size(*n, pre + prefix + "read_rate", 1024, kMaxRate, v))
            read.rate = v;
        if (const toml::node* n = t.get(prefix + "write_rate");
            n && get_size(*n, pre + prefix + "write_rate", 1024, kMaxRate, v))
            write.rate = v;
        uint64_t burst = 0;
        if (const toml::node* n = t.get(prefix + "rate_burst"))
            get_size(*n, pre + prefix + "rate_burst", 1024, kMaxRate, burst);
        read.burst = read.rate == 0 ? 0 : burst != 0 ? burst : default_burst(read.rate);
        write.burst = write.rate == 0 ? 0 : burst != 0 ? burst : default_burst(write.rate);
    }

    // Relative to the file's directory; "credential:NAME" is a systemd
    // credential (supervisor/credentials.hpp).
    Result<std::string> resolve_path(const std::string& p) const {
        if (is_credential_reference(p)) return credential_path(p);
        if (p.empty() || p[0] == '/' || base_dir_.empty()) return p;
        if (base_dir_ == "/") return "/" + p;
        return base_dir_ + "/" + p;
    }

    void parse_metrics(const toml::table& t) {
        check_keys(t, kMetricsKeys, "[metrics]");
        if (const toml::node* n = t.get("listen")) {
            std::string text;
            if (!get_string(*n, "metrics: listen", text)) return;
            if (auto a = parse_metrics_listen(text); !a)
                fail(line_of(*n), a.message());
            else
                config_.metrics.listen = text;
        }
    }

    void parse_global(const toml::table& t) {
        check_keys(t, kGlobalKeys, "[global]");
        GlobalConfig& g = config_.global;
        const std::string pre = "global: ";
        uint64_t u = 0;
        if (const toml::node* n = t.get("helpers");
            n && get_uint(*n, pre + "helpers", 0, kMaxHelpers, u))
            g.helpers = static_cast<unsigned>(u);
        if (const toml::node* n = t.get("log_level")) {
            std::string s;
            if (get_string(*n, pre + "log_level", s) && !parse_log_level(s, g.log_level))
                fail(line_of(*n), pre +
                                      "log_level must be \"debug\", \"info\", \"warn\" or "
                                      "\"error\", got " +
                                      describe(*n));
        }
        if (const toml::node* n = t.get("handshake_queue_limit");
            n && get_uint(*n, pre + "handshake_queue_limit", kMinHandshakeQueueLimit,
                          kMaxHandshakeQueueLimit, u))
            g.handshake_queue_limit = static_cast<uint32_t>(u);
        if (const toml::node* n = t.get("max_jobs_per_helper");
            n && get_uint(*n, pre + "max_jobs_per_helper", kMinJobsPerHelper, kMaxJobsPerHelper, u))
            g.max_jobs_per_helper = static_cast<uint32_t>(u);
        if (const toml::node* n = t.get("drain_time"))
            get_duration(*n, pre + "drain_time", 0, kMaxDrainMs, true, g.drain_ms);
        if (const toml::node* n = t.get("control_socket")) {
            std::string s;
            if (get_string(*n, pre + "control_socket", s)) {
                if (s.empty() || s[0] != '/')
                    fail(line_of(*n),
                         pre + "control_socket must be an absolute path, got " + describe(*n));
                else if (s.size() > 107)
                    fail(line_of(*n), pre +
                                          "control_socket is longer than a unix socket path "
                                          "can be (107 bytes)");
                else
                    g.control_socket = s;
            }
        }
        if (const toml::node* n = t.get("max_connections");
            n && get_uint(*n, pre + "max_connections", 0, 10000000, u))
            g.max_connections = static_cast<uint32_t>(u);
        if (const toml::node* n = t.get("helper_nice");
            n && get_uint(*n, pre + "helper_nice", 0, kMaxHelperNice, u))
            g.helper_nice = static_cast<int>(u);
        if (const toml::node* n = t.get("netproc_nice")) {
            const auto* i = n->as_integer();
            if (i == nullptr || i->get() < kMinNetprocNice || i->get() > 0)
                fail(line_of(*n), strfmt("%snetproc_nice must be an integer from %d to 0, got %s",
                                         pre.c_str(), kMinNetprocNice, describe(*n).c_str()));
            else
                g.netproc_nice = static_cast<int>(i->get());
        }
        if (const toml::node* n = t.get("netproc_realtime_priority");
            n && get_uint(*n, pre + "netproc_realtime_priority", 0, kMaxRealtimePriority, u))
            g.netproc_realtime_priority = static_cast<int>(u);
        get_rates(t, "", pre, g.read_rate, g.write_rate);
        parse_global_tls(t, pre, g);
        if (const toml::node* n = t.get("chroot_dir")) {
            std::string s;
            if (get_string(*n, pre + "chroot_dir", s)) {
                if (s.size() < 2 || s[0] != '/')
                    fail(line_of(*n), pre +
                                          "chroot_dir must be an absolute path other than /, "
                                          "got " +
                                          describe(*n));
                else
                    g.chroot_dir = s;
            }
        }
        for (const char* key : {"user", "crypto_user"}) {
            const toml::node* n = t.get(key);
            std::string s;
            if (n == nullptr || !get_string(*n, pre + key, s)) continue;
            if (!valid_user_name(s)) {
                fail(line_of(*n), pre + key + " must be a user name, got " + describe(*n));
                continue;
            }
            (std::string_view(key) == "user" ? g.user : g.crypto_user) = s;
        }
    }

    // --- TLS options ---------------------------------------------------------

    // A string or an array of strings (an empty array is an error).
    bool get_strings(const toml::node& n, const std::string& what, std::vector<std::string>& out) {
        out.clear();
        if (n.is_string()) {
            std::string v;
            if (!get_string(n, what, v)) return false;
            out.push_back(std::move(v));
            return true;
        }
        const toml::array* arr = n.as_array();
        if (arr == nullptr) {
            fail(line_of(n), what + " must be a string or an array of strings, got " + describe(n));
            return false;
        }
        if (arr->empty()) {
            fail(line_of(n), what + " is an empty array");
            return false;
        }
        bool ok = true;
        for (const toml::node& el : *arr) {
            std::string v;
            if (get_string(el, what, v))
                out.push_back(std::move(v));
            else
                ok = false;
        }
        return ok;
    }

    bool get_bool(const toml::node& n, const std::string& what, bool& out) {
        if (const auto* b = n.as_boolean()) {
            out = b->get();
            return true;
        }
        fail(line_of(n), what + " must be true or false, got " + describe(n));
        return false;
    }

    // A list whose every entry goes through `check` (which may normalize it).
    template <class Check>
    void get_list(const toml::table& t, const char* key, const std::string& pre, size_t max,
                  Check check, std::vector<std::string>& out) {
        const toml::node* n = t.get(key);
        std::vector<std::string> raw;
        if (n == nullptr || !get_strings(*n, pre + key, raw)) return;
        if (raw.size() > max) {
            fail(line_of(*n),
                 strfmt("%s%s has %zu entries, at most %zu", pre.c_str(), key, raw.size(), max));
            return;
        }
        out.clear();
        for (const std::string& v : raw) {
            Result<std::string> r = check(v);
            if (!r) {
                fail(line_of(*n), pre + key + ": " + r.message());
                continue;
            }
            out.push_back(r.value());
        }
    }

    bool get_path(const toml::node& n, const std::string& what, std::string& out) {
        std::string v;
        if (!get_string(n, what, v)) return false;
        if (v.empty()) {
            fail(line_of(n), what + " is an empty path");
            return false;
        }
        auto resolved = resolve_path(v);
        if (!resolved) {
            fail(line_of(n), what + ": " + resolved.message());
            return false;
        }
        out = std::move(resolved.value());
        return true;
    }

    void parse_global_tls(const toml::table& t, const std::string& pre, GlobalConfig& g) {
        if (const toml::node* n = t.get("ticket_key_file"))
            get_path(*n, pre + "ticket_key_file", g.ticket_key_file);
        if (const toml::node* n = t.get("ticket_key_rotation"))
            get_duration(*n, pre + "ticket_key_rotation", kMinTicketRotationMs,
                         kMaxTicketRotationMs, false, g.ticket_key_rotation_ms);
        if (const toml::node* n = t.get("session_lifetime"))
            get_duration(*n, pre + "session_lifetime", kMinSessionLifetimeMs, kMaxSessionLifetimeMs,
                         false, g.session_lifetime_ms);
    }

    void parse_tls(const toml::table& t, const std::string& pre, ServiceConfig& s) {
        TlsConfig& tls = s.tls;
        auto any = [](const std::string& v) -> Result<std::string> {
            if (v.empty()) return err(ErrorKind::config, "an empty entry");
            return v;
        };
        auto hex_pin = [](const std::string& v) { return parse_spki_pin(v); };
        auto dns = [](const std::string& v) { return parse_dns_pattern(v); };
        auto alpn = [](const std::string& v) -> Result<std::string> {
            if (auto st = check_alpn_protocol(v); !st) return st.error();
            return v;
        };
        auto path = [this](const std::string& v) -> Result<std::string> {
            if (v.empty()) return err(ErrorKind::config, "an empty path");
            return resolve_path(v);
        };
        if (const toml::node* n = t.get("client_ca"))
            get_path(*n, pre + "client_ca", tls.client_ca);
        if (const toml::node* n = t.get("ca")) get_path(*n, pre + "ca", tls.ca);
        if (const toml::node* n = t.get("verify_client")) {
            std::string v;
            if (get_string(*n, pre + "verify_client", v)) {
                tls.verify_client_set = true;
                if (v == "none")
                    tls.verify_client = ipc::VerifyPeer::none;
                else if (v == "optional")
                    tls.verify_client = ipc::VerifyPeer::optional;
                else if (v == "require")
                    tls.verify_client = ipc::VerifyPeer::require;
                else
                    fail(line_of(*n), pre +
                                          "verify_client must be \"require\", \"optional\" or "
                                          "\"none\", got " +
                                          describe(*n));
            }
        }
        get_list(t, "allow_cn", pre, ipc::kMaxListEntries, any, tls.allow_cn);
        get_list(t, "allow_dns", pre, ipc::kMaxListEntries, dns, tls.allow_dns);
        get_list(t, "allow_uri", pre, ipc::kMaxListEntries, any, tls.allow_uri);
        get_list(t, "allow_spki", pre, ipc::kMaxListEntries, hex_pin, tls.allow_spki);
        get_list(t, "pin_spki", pre, ipc::kMaxListEntries, hex_pin, tls.pin_spki);
        get_list(t, "crl", pre, 64, path, tls.crl);
        get_list(t, "alpn", pre, ipc::kMaxAlpnEntries, alpn, tls.alpn);
        if (const toml::node* n = t.get("unknown_sni")) {
            std::string v;
            if (get_string(*n, pre + "unknown_sni", v)) {
                if (v == "default")
                    tls.unknown_sni = ipc::UnknownSni::use_default;
                else if (v == "refuse")
                    tls.unknown_sni = ipc::UnknownSni::refuse;
                else
                    fail(line_of(*n), pre + "unknown_sni must be \"default\" or \"refuse\", got " +
                                          describe(*n));
            }
        }
        if (const toml::node* n = t.get("session_tickets"))
            get_bool(*n, pre + "session_tickets", tls.session_tickets);
        if (const toml::node* n = t.get("accept_proxy"))
            get_bool(*n, pre + "accept_proxy", tls.accept_proxy);
        if (const toml::node* n = t.get("proxy_protocol")) {
            std::string v;
            if (get_string(*n, pre + "proxy_protocol", v)) {
                if (v == "none")
                    tls.proxy_protocol = ipc::ProxyVersion::none;
                else if (v == "v1")
                    tls.proxy_protocol = ipc::ProxyVersion::v1;
                else if (v == "v2")
                    tls.proxy_protocol = ipc::ProxyVersion::v2;
                else
                    fail(line_of(*n),
                         pre + "proxy_protocol must be \"v1\", \"v2\" or \"none\", got " +
                             describe(*n));
            }
        }
        for (const char* key : {"server_name", "verify_name"}) {
            const toml::node* n = t.get(key);
            std::string v;
            if (n == nullptr || !get_string(*n, pre + key, v)) continue;
            if (auto st = check_host_or_ip(v); !st) {
                fail(line_of(*n), pre + key + ": " + st.message());
                continue;
            }
            (std::string_view(key) == "server_name" ? tls.server_name : tls.verify_name) = v;
        }
        if (!tls.client_ca.empty() && !tls.verify_client_set)
            tls.verify_client = ipc::VerifyPeer::require;
    }

    void parse_link(const toml::table& t, const std::string& pre, ipc::LinkSettings& l) {
        uint64_t u = 0;
        if (const toml::node* n = t.get("max_connections");
            n && get_uint(*n, pre + "max_connections", 0, 10000000, u))
            l.max_connections = static_cast<uint32_t>(u);
        if (const toml::node* n = t.get("max_connections_per_source");
            n && get_uint(*n, pre + "max_connections_per_source", 0, 10000000, u))
            l.max_connections_per_source = static_cast<uint32_t>(u);
        get_rates(t, "", pre, l.service_read, l.service_write);
        get_rates(t, "connection_", pre, l.connection_read, l.connection_write);
        if (const toml::node* n = t.get("record_size")) {
            const auto* str = n->as_string();
            if (str && str->get() == "dynamic") {
                l.record_size = 0;
            } else if (get_size(*n, pre + "record_size (or \"dynamic\")", kMinRecordSize, 16384,
                                u)) {
                l.record_size = static_cast<uint32_t>(u);
            }
        }
        if (const toml::node* n = t.get("record_boost_after");
            n && get_size(*n, pre + "record_boost_after", 1, 1ULL << 30, u))
            l.record_boost_after = static_cast<uint32_t>(u);
        if (const toml::node* n = t.get("record_idle_reset"))
            get_duration(*n, pre + "record_idle_reset", 10, 3600 * 1000, true,
                         l.record_idle_reset_ms);
        if (const toml::node* n = t.get("key_update_after"))
            get_size(*n, pre + "key_update_after", 1024, 1ULL << 50, l.key_update_bytes);
        if (const toml::node* n = t.get("key_update_interval"))
            get_duration(*n, pre + "key_update_interval", 1000, 7 * 24 * 3600 * 1000u, true,
                         l.key_update_interval_ms);
    }

    void parse_services(const toml::table& root) {
        const toml::node* node = root.get("service");
        if (node == nullptr) {
            fail(1, "no [[service]] is defined: there is nothing to do");
            return;
        }
        const toml::array* arr = node->as_array();
        if (arr == nullptr) {
            fail(line_of(*node),
                 "service must be an array of tables: write [[service]], not "
                 "[service] or service = ...");
            return;
        }
        if (arr->empty()) fail(line_of(*node), "no [[service]] is defined: there is nothing to do");
        int index = 0;
        for (const toml::node& el : *arr) {
            ++index;
            if (const toml::table* t = el.as_table())
                parse_service(*t, index);
            else
                fail(line_of(el),
                     "service must be an array of tables ([[service]]), got " + describe(el));
        }
    }

    void parse_service(const toml::table& t, int index) {
        const std::set<std::string> guessed = check_keys(t, kServiceKeys, "[[service]]");
        auto missing = [&](const char* key, int line, const std::string& text) {
            if (guessed.count(key) == 0) fail(line, text);
        };
        ServiceConfig s;
        s.line = line_of(t);
        std::string pre = strfmt("service #%d: ", index);

        if (const toml::node* n = t.get("name")) {
            std::string name;
            if (get_string(*n, pre + "name", name)) {
                if (!valid_service_name(name)) {
                    fail(line_of(*n), pre + "name " + quoted(name) +
                                          " must be 1 to 64 characters from a-z, A-Z, 0-9, "
                                          "'_', '.' and '-'");
                } else {
                    s.name = name;
                    pre = "service " + quoted(name) + ": ";
                    auto [it, fresh] = names_.emplace(name, line_of(*n));
                    if (!fresh)
                        fail(line_of(*n), strfmt("service name %s is already used at line %d",
                                                 quoted(name).c_str(), it->second));
                }
            }
        } else {
            missing("name", s.line, pre + "name is missing");
        }

        if (const toml::node* n = t.get("mode")) {
            std::string mode;
            if (get_string(*n, pre + "mode", mode)) {
                if (mode == "server")
                    s.mode = ipc::TlsRole::server;
                else if (mode == "client")
                    s.mode = ipc::TlsRole::client;
                else
                    fail(line_of(*n),
                         pre + "mode must be \"server\" or \"client\", got " + describe(*n));
            }
        }

        if (t.get("listen") != nullptr)
            parse_listen(*t.get("listen"), s, pre);
        else
            missing("listen", s.line, pre + "listen is missing");

        if (const toml::node* n = t.get("target")) {
            if (get_string(*n, pre + "target", s.target)) {
                if (auto ok = check_target_syntax(s.target); !ok)
                    fail(line_of(*n), pre + ok.message());
            }
        } else {
            missing("target", s.line, pre + "target is missing");
        }

        parse_certificates(t, s, pre, guessed);

        if (const toml::node* n = t.get("handshake_timeout"))
            get_duration(*n, pre + "handshake_timeout", kMinHandshakeTimeoutMs,
                         kMaxHandshakeTimeoutMs, false, s.handshake_timeout_ms);
        if (const toml::node* n = t.get("connect_timeout"))
            get_duration(*n, pre + "connect_timeout", kMinConnectTimeoutMs, kMaxConnectTimeoutMs,
                         false, s.connect_timeout_ms);
        if (const toml::node* n = t.get("idle_timeout"))
            get_duration(*n, pre + "idle_timeout", kMinIdleTimeoutMs, kMaxIdleTimeoutMs, true,
                         s.idle_timeout_ms);
        parse_link(t, pre, s.link);
        parse_tls(t, pre, s);
        if (const toml::node* n = t.get("log_connections"))
            get_bool(*n, pre + "log_connections", s.log_connections);
        if (!s.target.empty() || s.mode == ipc::TlsRole::server) {
            if (auto st = check_tls_options(s, false); !st) {
                std::string_view all = st.message();
                while (!all.empty()) {
                    size_t nl = all.find('\n');
                    fail(s.line, pre + std::string(all.substr(0, nl)));
                    all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
                }
            }
        }

        config_.services.push_back(std::move(s));
    }

    void add_listen(const toml::node& n, ServiceConfig& s, const std::string& pre) {
        std::string text;
        if (!get_string(n, pre + "listen", text)) return;
        auto a = resolve_listen(text);
        if (!a) {
            fail(line_of(n), pre + a.message());
            return;
        }
        std::string key = a->to_string();
        // Port 0 asks the kernel for a free port: never the same twice.
        auto [it, fresh] = a->port() == 0
                               ? std::make_pair(listens_.end(), true)
                               : listens_.emplace(key, std::make_pair(s.name, line_of(n)));
        if (!fresh) {
            const auto& [owner, line] = it->second;
            std::string by = owner.empty() ? "another service" : "service " + quoted(owner);
            fail(line_of(n), strfmt("%slisten address %s is already used by %s at line %d",
                                    pre.c_str(), key.c_str(), by.c_str(), line));
            return;
        }
        s.listen.push_back(text);
    }

    void parse_listen(const toml::node& listen, ServiceConfig& s, const std::string& pre) {
        const toml::node* n = &listen;
        if (const toml::array* arr = n->as_array()) {
            if (arr->empty()) fail(line_of(*n), pre + "listen is an empty array");
            for (const toml::node& el : *arr) add_listen(el, s, pre);
            return;
        }
        if (!n->is_string()) {
            fail(line_of(*n),
                 pre + "listen must be a string or an array of strings, got " + describe(*n));
            return;
        }
        add_listen(*n, s, pre);
    }

    // cert = "...", key = "..." (key omitted: the key is in the cert file), or
    // [[service.certificate]] tables with the same two keys.
    bool parse_pair(const toml::table& t, const std::string& pre, int line,
                    const std::set<std::string>& guessed, CertificateFiles& out) {
        const toml::node* c = t.get("cert");
        const toml::node* k = t.get("key");
        bool ok = true;
        std::string cert, key;
        if (c == nullptr) {
            if (k != nullptr)
                fail(line_of(*k), pre + "key is set but cert is missing");
            else if (guessed.count("cert") == 0)
                fail(line, pre + "cert is missing");
            return false;
        }
        if (!get_string(*c, pre + "cert", cert)) {
            ok = false;
        } else if (cert.empty()) {
            fail(line_of(*c), pre + "cert is an empty path");
            ok = false;
        }
        if (k != nullptr) {
            if (!get_string(*k, pre + "key", key)) {
                ok = false;
            } else if (key.empty()) {
                fail(line_of(*k), pre + "key is an empty path");
                ok = false;
            }
        } else {
            key = cert;  // one PEM file with the chain and the key (hitch's pem-file)
        }
        if (!ok) return false;
        auto cert_path = resolve_path(cert);
        if (!cert_path) {
            fail(line_of(*c), pre + "cert: " + cert_path.message());
            return false;
        }
        auto key_path = resolve_path(key);
        if (!key_path) {
            fail(line_of(k != nullptr ? *k : *c), pre + "key: " + key_path.message());
            return false;
        }
        out.cert_path = std::move(cert_path.value());
        out.key_path = std::move(key_path.value());
        if (const toml::node* o = t.get("ocsp"); o && !get_path(*o, pre + "ocsp", out.ocsp_path))
            return false;
        if (const toml::node* n = t.get("names")) {
            std::vector<std::string> names;
            if (!get_strings(*n, pre + "names", names)) return false;
            for (const std::string& v : names) {
                auto d = parse_dns_pattern(v);
                if (!d) {
                    fail(line_of(*n), pre + "names: " + d.message());
                    return false;
                }
                out.names.push_back(d.value());
            }
        }
        return true;
    }

    void parse_certificates(const toml::table& t, ServiceConfig& s, const std::string& pre,
                            const std::set<std::string>& guessed) {
        const toml::node* list = t.get("certificate");
        bool has_pair = t.get("cert") != nullptr || t.get("key") != nullptr;
        bool ok = true;
        if (list != nullptr && has_pair) {
            fail(line_of(*list), pre + "use either cert/key or [[service.certificate]], not both");
            return;
        }
        if (has_pair) {
            CertificateFiles f;
            if (parse_pair(t, pre, s.line, guessed, f))
                s.certificates.push_back(std::move(f));
            else
                ok = false;
        } else if (list != nullptr) {
            auto add = [&](const toml::node& el) {
                const toml::table* ct = el.as_table();
                if (ct == nullptr) {
                    fail(line_of(el), pre +
                                          "certificate must be a table with cert and key "
                                          "([[service.certificate]]), got " +
                                          describe(el));
                    ok = false;
                    return;
                }
                auto sub_guessed = check_keys(*ct, kCertificateKeys, "[[service.certificate]]");
                CertificateFiles f;
                if (parse_pair(*ct, pre + "certificate: ", line_of(*ct), sub_guessed, f))
                    s.certificates.push_back(std::move(f));
                else
                    ok = false;
            };
            if (const toml::array* arr = list->as_array()) {
                for (const toml::node& el : *arr) add(el);
            } else {
                add(*list);
            }
        }
        if (!ok) return;
        bool guessed_cert =
            guessed.count("cert") + guessed.count("key") + guessed.count("certificate") > 0;
        if (s.mode == ipc::TlsRole::server && s.certificates.empty() && !guessed_cert)
            fail(s.line, pre +
                             "a server needs a certificate: set cert and key, or add "
                             "[[service.certificate]]");
        if (s.mode == ipc::TlsRole::client && s.certificates.size() > 1)
            fail(list ? line_of(*list) : s.line, pre + "a client presents at most one certificate");
    }

    std::string source_;
    std::string base_dir_;
    Config config_;
    std::vector<Problem> problems_;
    std::map<std::string, int> names_;                            // name -> line
    std::map<std::string, std::pair<std::string, int>> listens_;  // addr -> (service, line)
};

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& source_name,
                            const std::string& base_dir) {
    try {
        Loader loader(source_name, base_dir);
        return loader.run(text);
    } catch (const std::exception& e) {
        return err(ErrorKind::internal, "%s: %s", source_name.c_str(), e.what());
    } catch (...) {
        return err(ErrorKind::internal, "%s: unexpected error while reading the configuration",
                   source_name.c_str());
    }
}

Result<Config> parse_config(std::string_view text, const std::string& source_name) {
    return parse_config(text, source_name, dirname_of(source_name));
}

Result<Config> load_config_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(errno));
    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(e));
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (16u << 20)) {
            ::close(fd);
            return err(ErrorKind::config, "%s: cannot read: larger than 16 MiB", path.c_str());
        }
    }
    ::close(fd);

    // Relative cert/key paths are relative to the file's directory, made
    // absolute now so that a later chdir (or a reload) cannot change them.
    std::string dir = dirname_of(path);
    if (dir.empty() || dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd) == nullptr)
            return err(ErrorKind::config, "%s: cannot find the current directory: %s", path.c_str(),
                       std::strerror(errno));
        std::string base = cwd;
        if (base != "/") base += '/';
        dir = dir.empty() ? std::string(cwd) : base + dir;
    }
    return parse_config(text, path, dir);
}

}  // namespace tlsward::supervisor
