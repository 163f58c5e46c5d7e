// The key table (config_keys.hpp). Each entry is built by a helper for its
// kind of value (integer, duration, size, boolean, choice, path, list) from
// an accessor of the field it fills; the few keys with rules of their own
// (name, listen, target, record_size, ...) have their own read function.
#include "supervisor/config_keys.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "supervisor/config_key_kinds.hpp"
#include "supervisor/metrics_listener.hpp"

namespace tlsward::supervisor {

using namespace key_kinds;

namespace {

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

std::string absolute_socket_path(const std::string& s, const ConfigNode& n) {
    if (s.empty() || s[0] != '/') return "must be an absolute path, got " + describe(n);
    if (s.size() > 107) return "is longer than a unix socket path can be (107 bytes)";
    return "";
}
std::string chroot_path(const std::string& s, const ConfigNode& n) {
    if (s.size() < 2 || s[0] != '/')
        return "must be an absolute path other than /, got " + describe(n);
    return "";
}
std::string user_name(const std::string& s, const ConfigNode& n) {
    return valid_user_name(s) ? "" : "must be a user name, got " + describe(n);
}

void add_global_keys(std::vector<KeySpec>& k) {
    k.push_back(integer(
        "helpers", kGlobal, 0, kMaxHelpers,
        [](const KeyTarget& t) -> auto& { return t.global->helpers; }));
    k.push_back(choice("log_level", kGlobal, KeyMode::both,
                       {{"debug", LogLevel::debug},
                        {"info", LogLevel::info},
                        {"warn", LogLevel::warn},
                        {"error", LogLevel::error}},
                       [](const KeyTarget& t) -> auto& { return t.global->log_level; },
                       {{"warning", LogLevel::warn}}));
    k.push_back(integer(
        "handshake_queue_limit", kGlobal, kMinHandshakeQueueLimit, kMaxHandshakeQueueLimit,
        [](const KeyTarget& t) -> auto& { return t.global->handshake_queue_limit; }));
    k.push_back(integer(
        "max_jobs_per_helper", kGlobal, kMinJobsPerHelper, kMaxJobsPerHelper,
        [](const KeyTarget& t) -> auto& { return t.global->max_jobs_per_helper; }));
    k.push_back(duration(
        "drain_time", kGlobal, 0, kMaxDrainMs, true,
        [](const KeyTarget& t) -> auto& { return t.global->drain_ms; }));
    k.push_back(checked_string(
        "control_socket", kGlobal, "not set: a default under the runtime directory",
        absolute_socket_path,
        [](const KeyTarget& t) -> auto& { return t.global->control_socket; }));
    k.push_back(checked_string(
        "user", kGlobal, "not set", user_name,
        [](const KeyTarget& t) -> auto& { return t.global->user; }));
    k.push_back(checked_string(
        "crypto_user", kGlobal, "not set", user_name,
        [](const KeyTarget& t) -> auto& { return t.global->crypto_user; }));
    k.push_back(checked_string(
        "chroot_dir", kGlobal, "not set", chroot_path,
        [](const KeyTarget& t) -> auto& { return t.global->chroot_dir; }));
    k.push_back(integer(
        "max_connections", kGlobal, 0, 10000000,
        [](const KeyTarget& t) -> auto& { return t.global->max_connections; }));
    add_rates(
        k, "", kGlobal, [](const KeyTarget& t) -> auto& { return t.global->read_rate; },
        [](const KeyTarget& t) -> auto& { return t.global->write_rate; });
    k.push_back(integer(
        "helper_nice", kGlobal, 0, kMaxHelperNice,
        [](const KeyTarget& t) -> auto& { return t.global->helper_nice; }));
    k.push_back(integer(
        "netproc_nice", kGlobal, kMinNetprocNice, 0,
        [](const KeyTarget& t) -> auto& { return t.global->netproc_nice; }));
    k.push_back(integer(
        "netproc_realtime_priority", kGlobal, 0, kMaxRealtimePriority,
        [](const KeyTarget& t) -> auto& { return t.global->netproc_realtime_priority; }));
    k.push_back(path(
        "ticket_key_file", kGlobal, KeyMode::both, "not set: keys are generated and rotated",
        [](const KeyTarget& t) -> auto& { return t.global->ticket_key_file; }));
    k.push_back(duration(
        "ticket_key_rotation", kGlobal, kMinTicketRotationMs, kMaxTicketRotationMs, false,
        [](const KeyTarget& t) -> auto& { return t.global->ticket_key_rotation_ms; }));
    k.push_back(duration(
        "session_lifetime", kGlobal, kMinSessionLifetimeMs, kMaxSessionLifetimeMs, false,
        [](const KeyTarget& t) -> auto& { return t.global->session_lifetime_ms; }));
}

void add_metrics_keys(std::vector<KeySpec>& k) {
    KeySpec listen = spec("listen", kMetrics);
    listen.unset = "not set: no metrics endpoint";
    listen.read = [](ValueReader& r, const ConfigNode& n) {
        std::string text;
        if (!r.string(n, r.prefix + "listen", text)) return false;
        if (auto a = parse_metrics_listen(text); !a) {
            r.fail(n.at, a.message());
            return false;
        }
        r.target.metrics->listen = text;
        return true;
    };
    listen.show = [](const KeyTarget& t) -> Shown {
        if (t.metrics->listen.empty()) return std::nullopt;
        return toml_string(t.metrics->listen);
    };
    k.push_back(std::move(listen));
}

}  // namespace

const char* section_heading(Section s) {
    switch (s) {
        case Section::top:
            return "the top level";
        case Section::global:
            return "[global]";
        case Section::metrics:
            return "[metrics]";
        case Section::service:
            return "[[service]]";
        case Section::certificate:
            return "[[service.certificate]]";
    }
    return "?";
}

const std::vector<KeySpec>& config_keys() {
    static const std::vector<KeySpec> keys = [] {
        std::vector<KeySpec> k;
        for (const char* table : {"global", "service", "metrics"}) k.push_back(spec(table, kTop));
        add_global_keys(k);
        add_metrics_keys(k);
        add_service_keys(k);
        return k;
    }();
    return keys;
}

const KeySpec* find_key(Section s, std::string_view name) {
    for (const KeySpec& k : config_keys())
        if (k.in(s) && k.name == name) return &k;
    return nullptr;
}

std::string unknown_key_hint(Section s, std::string_view key, std::string* guess) {
    const KeySpec* best_key = nullptr;
    size_t best = SIZE_MAX;
    if (key.size() <= 64) {  // no suggestion for a runaway key
        for (const KeySpec& k : config_keys()) {
            if (!k.in(s)) continue;
            size_t d = lower(key) == k.name ? 0 : edit_distance(key, k.name);
            size_t limit = std::max(key.size(), k.name.size()) >= 5 ? 2 : 1;
            if (d <= limit && d < best) {
                best = d;
                best_key = &k;
            }
        }
    }
    if (best_key != nullptr) {
        if (guess != nullptr) *guess = best_key->name;
        return " (did you mean \"" + best_key->name + "\"?)";
    }
    for (Section other : {Section::global, Section::service, Section::certificate, Section::metrics,
                          Section::top}) {
        if (other != s && find_key(other, key) != nullptr)
            return " (" + std::string(key) + " belongs in " + section_heading(other) + ")";
    }
    return "";
}

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += strfmt("\\u%04x", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace tlsward::supervisor
