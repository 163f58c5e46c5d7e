// The kinds of value the key table is built from (config_keys.cpp,
// config_service_keys.cpp): each makes a KeySpec from the key's name, where
// it stands, its limits and an accessor of the field it fills
// ([](const KeyTarget& t) -> auto& { return t.global->helpers; }).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "supervisor/config_keys.hpp"

namespace tlsward::supervisor::key_kinds {

inline constexpr uint8_t kTop = static_cast<uint8_t>(Section::top);
inline constexpr uint8_t kGlobal = static_cast<uint8_t>(Section::global);
inline constexpr uint8_t kMetrics = static_cast<uint8_t>(Section::metrics);
inline constexpr uint8_t kService = static_cast<uint8_t>(Section::service);
inline constexpr uint8_t kCertificate = static_cast<uint8_t>(Section::certificate);

using Shown = std::optional<std::string>;

inline KeySpec spec(std::string name, uint8_t sections, KeyMode mode = KeyMode::both) {
    KeySpec k;
    k.name = std::move(name);
    k.sections = sections;
    k.mode = mode;
    return k;
}

// The field type an accessor returns a reference to.
template <class Get>
using FieldOf = std::remove_reference_t<decltype(std::declval<Get>()(std::declval<KeyTarget>()))>;

template <class Get>
KeySpec integer(const std::string& name, uint8_t sections, int64_t min, int64_t max, Get get) {
    KeySpec k = spec(name, sections);
    k.read = [name, min, max, get](ValueReader& r, const ConfigNode& n) {
        int64_t v = 0;
        if (!r.integer(n, r.prefix + name, min, max, v)) return false;
        get(r.target) = static_cast<FieldOf<Get>>(v);
        return true;
    };
    k.show = [get](const KeyTarget& t) -> Shown { return std::to_string(get(t)); };
    return k;
}

template <class Get>
KeySpec duration(const std::string& name, uint8_t sections, uint64_t min, uint64_t max,
                 bool allow_zero, Get get) {
    KeySpec k = spec(name, sections);
    k.read = [name, min, max, allow_zero, get](ValueReader& r, const ConfigNode& n) {
        return r.duration(n, r.prefix + name, min, max, allow_zero, get(r.target));
    };
    k.show = [get](const KeyTarget& t) -> Shown { return toml_string(format_duration_ms(get(t))); };
    return k;
}

template <class Get>
KeySpec size(const std::string& name, uint8_t sections, uint64_t min, uint64_t max, Get get) {
    KeySpec k = spec(name, sections);
    k.read = [name, min, max, get](ValueReader& r, const ConfigNode& n) {
        uint64_t v = 0;
        if (!r.size(n, r.prefix + name, min, max, v)) return false;
        get(r.target) = static_cast<FieldOf<Get>>(v);
        return true;
    };
    k.show = [get](const KeyTarget& t) -> Shown { return std::to_string(get(t)); };
    return k;
}

template <class Get>
KeySpec boolean(const std::string& name, uint8_t sections, KeyMode mode, Get get) {
    KeySpec k = spec(name, sections, mode);
    k.read = [name, get](ValueReader& r, const ConfigNode& n) {
        return r.boolean(n, r.prefix + name, get(r.target));
    };
    k.show = [get](const KeyTarget& t) -> Shown { return get(t) ? "true" : "false"; };
    return k;
}

// One of a few strings. The message lists `names`; `aliases` are accepted
// too ("warning" for "warn").
template <class Get, class E = FieldOf<Get>>
KeySpec choice(const std::string& name, uint8_t sections, KeyMode mode,
               std::vector<std::pair<std::string, E>> names, Get get,
               std::vector<std::pair<std::string, E>> aliases = {}) {
    KeySpec k = spec(name, sections, mode);
    std::string listed;
    for (size_t i = 0; i < names.size(); ++i)
        listed += (i == 0                  ? ""
                   : i + 1 == names.size() ? " or "
                                           : ", ") +
                  toml_string(names[i].first);
    k.read = [name, names, aliases, listed, get](ValueReader& r, const ConfigNode& n) {
        std::string v;
        if (!r.string(n, r.prefix + name, v)) return false;
        for (const auto* set : {&names, &aliases})
            for (const auto& [text, value] : *set)
                if (v == text) {
                    get(r.target) = value;
                    return true;
                }
        r.fail(n.at, r.prefix + name + " must be " + listed + ", got " + describe(n));
        return false;
    };
    k.show = [names, get](const KeyTarget& t) -> Shown {
        for (const auto& [text, value] : names)
            if (get(t) == value) return toml_string(text);
        return std::nullopt;
    };
    return k;
}

// A string; `check` returns the problem after "NAME " ("must be a user
// name, got X"), or "" for a good value.
template <class Get>
KeySpec checked_string(const std::string& name, uint8_t sections, std::string unset,
                       std::string (*check)(const std::string&, const ConfigNode&), Get get) {
    KeySpec k = spec(name, sections);
    k.unset = std::move(unset);
    k.read = [name, check, get](ValueReader& r, const ConfigNode& n) {
        std::string v;
        if (!r.string(n, r.prefix + name, v)) return false;
        if (std::string problem = check(v, n); !problem.empty()) {
            r.fail(n.at, r.prefix + name + " " + problem);
            return false;
        }
        get(r.target) = v;
        return true;
    };
    k.show = [get](const KeyTarget& t) -> Shown {
        if (get(t).empty()) return std::nullopt;
        return toml_string(get(t));
    };
    return k;
}

template <class Get>
KeySpec path(const std::string& name, uint8_t sections, KeyMode mode, std::string unset, Get get) {
    KeySpec k = spec(name, sections, mode);
    k.unset = std::move(unset);
    k.read = [name, get](ValueReader& r, const ConfigNode& n) {
        return r.path(n, r.prefix + name, get(r.target));
    };
    k.show = [get](const KeyTarget& t) -> Shown {
        if (get(t).empty()) return std::nullopt;
        return toml_string(get(t));
    };
    return k;
}

// A string or an array of strings, each through `check` (which may
// normalize it), at most `max` of them.
using EntryCheck = std::function<Result<std::string>(const ValueReader&, const std::string&)>;

template <class Get>
KeySpec list(const std::string& name, uint8_t sections, KeyMode mode, size_t max,
             const EntryCheck& check, Get get) {
    KeySpec k = spec(name, sections, mode);
    k.read = [name, max, check, get](ValueReader& r, const ConfigNode& n) {
        std::vector<PlacedString> raw;
        if (!r.strings(n, r.prefix + name, raw)) return false;
        if (raw.size() > max) {
            r.fail(n.at, strfmt("%s%s has %zu entries, at most %zu", r.prefix.c_str(), name.c_str(),
                                raw.size(), max));
            return false;
        }
        std::vector<std::string>& out = get(r.target);
        out.clear();
        bool ok = true;
        for (const PlacedString& v : raw) {
            Result<std::string> e = check(r, v.text);
            if (!e) {
                r.fail(v.at, r.prefix + name + ": " + e.message());
                ok = false;
                continue;
            }
            out.push_back(e.value());
        }
        return ok;
    };
    k.show = [get](const KeyTarget& t) -> Shown {
        const std::vector<std::string>& v = get(t);
        if (v.empty()) return std::nullopt;
        std::string out = "[";
        for (size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : ", ") + toml_string(v[i]);
        return out + "]";
    };
    return k;
}

inline Result<std::string> any_entry(const ValueReader&, const std::string& v) {
    if (v.empty()) return err(ErrorKind::config, "an empty entry");
    return v;
}
inline Result<std::string> pin_entry(const ValueReader&, const std::string& v) {
    return parse_spki_pin(v);
}
inline Result<std::string> dns_entry(const ValueReader&, const std::string& v) {
    return parse_dns_pattern(v);
}
inline Result<std::string> alpn_entry(const ValueReader&, const std::string& v) {
    if (auto st = check_alpn_protocol(v); !st) return st.error();
    return v;
}
inline Result<std::string> path_entry(const ValueReader& r, const std::string& v) {
    if (v.empty()) return err(ErrorKind::config, "an empty path");
    return r.resolve_path(v);
}

// "<prefix>read_rate", "<prefix>write_rate" and "<prefix>rate_burst":
// bytes per second, the burst (one value for both directions) defaulting
// to 100 ms of traffic; the loader fills the default in (finish_rates).
template <class Read, class Write>
void add_rates(std::vector<KeySpec>& keys, const std::string& prefix, uint8_t sections, Read read,
               Write write) {
    keys.push_back(size(
        prefix + "read_rate", sections, 1024,
        kMaxRate, [read](const KeyTarget& t) -> auto& { return read(t).rate; }));
    keys.push_back(size(
        prefix + "write_rate", sections, 1024,
        kMaxRate, [write](const KeyTarget& t) -> auto& { return write(t).rate; }));
    KeySpec burst = spec(prefix + "rate_burst", sections);
    burst.unset = "not set: 100 ms of the rate, at least one TLS record";
    std::string name = burst.name;
    burst.read = [name, read, write](ValueReader& r, const ConfigNode& n) {
        uint64_t v = 0;
        if (!r.size(n, r.prefix + name, 1024, kMaxRate, v)) return false;
        read(r.target).burst = v;
        write(r.target).burst = v;
        return true;
    };
    burst.show = [read, write](const KeyTarget& t) -> Shown {
        for (const ipc::RateLimit* l : {&read(t), &write(t)})
            if (l->rate != 0 && l->burst != default_burst(l->rate)) return std::to_string(l->burst);
        return std::nullopt;
    };
    keys.push_back(std::move(burst));
}

// The [[service]] and [[service.certificate]] keys (config_service_keys.cpp).
void add_service_keys(std::vector<KeySpec>& keys);

}  // namespace tlsward::supervisor::key_kinds
