#include "supervisor/config_reader.hpp"

#include <algorithm>

#include "supervisor/credentials.hpp"

namespace tlsward::supervisor {

void ConfigProblems::add(SourcePosition at, std::string text) {
    problems_.push_back({at, std::move(text)});
}

std::string ConfigProblems::location(int line) const {
    return line > 0 ? strfmt("%s:%d: ", source_.c_str(), line) : source_ + ": ";
}

Error ConfigProblems::error() const {
    std::vector<Problem> sorted = problems_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Problem& a, const Problem& b) { return a.at < b.at; });
    std::string all;
    for (const Problem& p : sorted) {
        if (!all.empty()) all += '\n';
        all += location(p.at.line) + p.text;
    }
    return Error{ErrorKind::config, std::move(all)};
}

bool ValueReader::string(const ConfigNode& n, const std::string& what, std::string& out) {
    if (!n.is_string()) {
        fail(n.at, what + " must be a string, got " + describe(n));
        return false;
    }
    if (n.text.find('\0') != std::string::npos) {
        fail(n.at, what + " must not contain a NUL character");
        return false;
    }
    out = n.text;
    return true;
}

bool ValueReader::integer(const ConfigNode& n, const std::string& what, int64_t min, int64_t max,
                          int64_t& out) {
    if (n.type != ConfigNode::Type::integer || n.integer < min || n.integer > max) {
        fail(n.at,
             strfmt("%s must be an integer from %lld to %lld, got %s", what.c_str(),
                    static_cast<long long>(min), static_cast<long long>(max), describe(n).c_str()));
        return false;
    }
    out = n.integer;
    return true;
}

bool ValueReader::duration(const ConfigNode& n, const std::string& what, uint64_t min, uint64_t max,
                           bool allow_zero, uint32_t& out) {
    uint64_t ms = 0;
    bool parsed = false;
    if (n.type == ConfigNode::Type::integer) {
        if (n.integer >= 0) {
            auto secs = static_cast<uint64_t>(n.integer);
            ms = secs > (uint64_t{1} << 40) ? (uint64_t{1} << 50) : secs * 1000;
            parsed = true;
        }
    } else if (n.is_string()) {
        auto d = parse_duration_ms(n.text, false);
        if (d) {
            ms = d.value();
            parsed = true;
        }
    }
    if (!parsed) {
        fail(n.at, what + " must be a duration like \"10s\" or \"500ms\", got " + describe(n));
        return false;
    }
    if (allow_zero && ms == 0) {
        out = 0;
        return true;
    }
    if (ms < min || ms > max) {
        fail(n.at, strfmt("%s must be %sbetween %s and %s, got %s", what.c_str(),
                          allow_zero ? "0 (none) or " : "", format_duration_ms(min).c_str(),
                          format_duration_ms(max).c_str(), describe(n).c_str()));
        return false;
    }
    out = static_cast<uint32_t>(ms);
    return true;
}

bool ValueReader::size(const ConfigNode& n, const std::string& what, uint64_t min, uint64_t max,
                       uint64_t& out) {
    uint64_t v = 0;
    bool parsed = false;
    if (n.type == ConfigNode::Type::integer) {
        if (n.integer >= 0) {
            v = static_cast<uint64_t>(n.integer);
            parsed = true;
        }
    } else if (n.is_string()) {
        auto b = parse_size_bytes(n.text);
        if (b) {
            v = b.value();
            parsed = true;
        }
    }
    if (!parsed) {
        fail(n.at, what + " must be a size like \"64KiB\" or \"10MB\", got " + describe(n));
        return false;
    }
    if (v != 0 && (v < min || v > max)) {
        fail(n.at, strfmt("%s must be 0 (none) or from %llu to %llu bytes, got %s", what.c_str(),
                          static_cast<unsigned long long>(min),
                          static_cast<unsigned long long>(max), describe(n).c_str()));
        return false;
    }
    out = v;
    return true;
}

bool ValueReader::boolean(const ConfigNode& n, const std::string& what, bool& out) {
    if (n.type != ConfigNode::Type::boolean) {
        fail(n.at, what + " must be true or false, got " + describe(n));
        return false;
    }
    out = n.boolean;
    return true;
}

bool ValueReader::strings(const ConfigNode& n, const std::string& what,
                          std::vector<PlacedString>& out) {
    out.clear();
    if (n.is_string()) {
        std::string v;
        if (!string(n, what, v)) return false;
        out.push_back({std::move(v), n.at});
        return true;
    }
    if (!n.is_array()) {
        fail(n.at, what + " must be a string or an array of strings, got " + describe(n));
        return false;
    }
    if (n.items.empty()) {
        fail(n.at, what + " is an empty array");
        return false;
    }
    bool ok = true;
    for (const ConfigNode& el : n.items) {
        std::string v;
        if (string(el, what, v))
            out.push_back({std::move(v), el.at});
        else
            ok = false;
    }
    return ok;
}

bool ValueReader::path(const ConfigNode& n, const std::string& what, std::string& out) {
    std::string v;
    if (!string(n, what, v)) return false;
    if (v.empty()) {
        fail(n.at, what + " is an empty path");
        return false;
    }
    auto resolved = resolve_path(v);
    if (!resolved) {
        fail(n.at, what + ": " + resolved.message());
        return false;
    }
    out = std::move(resolved.value());
    return true;
}

Result<std::string> ValueReader::resolve_path(const std::string& p) const {
    if (is_credential_reference(p)) return credential_path(p);
    if (p.empty() || p[0] == '/' || base_dir_.empty()) return p;
    if (base_dir_ == "/") return "/" + p;
    return base_dir_ + "/" + p;
}

}  // namespace tlsward::supervisor
