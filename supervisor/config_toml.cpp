// TOML text into a ConfigNode tree. The only file that includes toml++ (it
// is slow to compile): everything after parsing (the key table, the loader)
// reads the tree.
#include <toml++/toml.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "supervisor/config_document.hpp"

namespace tlsward::supervisor {
namespace {

SourcePosition position(const toml::source_position& p) {
    return {static_cast<int>(p.line), static_cast<int>(p.column)};
}

ConfigNode convert(const toml::node& n) {
    ConfigNode out;
    out.at = position(n.source().begin);
    switch (n.type()) {
        case toml::node_type::string:
            out.type = ConfigNode::Type::string;
            out.text = n.as_string()->get();
            break;
        case toml::node_type::integer:
            out.type = ConfigNode::Type::integer;
            out.integer = n.as_integer()->get();
            break;
        case toml::node_type::floating_point:
            out.type = ConfigNode::Type::floating;
            out.floating = n.as_floating_point()->get();
            break;
        case toml::node_type::boolean:
            out.type = ConfigNode::Type::boolean;
            out.boolean = n.as_boolean()->get();
            break;
        case toml::node_type::date:
            out.type = ConfigNode::Type::date;
            break;
        case toml::node_type::time:
            out.type = ConfigNode::Type::time;
            break;
        case toml::node_type::date_time:
            out.type = ConfigNode::Type::date_time;
            break;
        case toml::node_type::array:
            out.type = ConfigNode::Type::array;
            for (const toml::node& el : *n.as_array()) out.items.push_back(convert(el));
            break;
        case toml::node_type::table:
        default:
            out.type = ConfigNode::Type::table;
            if (const toml::table* t = n.as_table()) {
                for (auto&& [k, v] : *t) {
                    ConfigEntry e{std::string(k.str()), position(k.source().begin), convert(v)};
                    if (e.key_at.line == 0) e.key_at = e.value.at;
                    out.entries.push_back(std::move(e));
                }
                // toml++ keeps keys sorted; the file's order reads better.
                std::stable_sort(
                    out.entries.begin(), out.entries.end(),
                    [](const ConfigEntry& a, const ConfigEntry& b) { return a.key_at < b.key_at; });
            }
            break;
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

bool bare_key(std::string_view k) {
    if (k.empty()) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    return true;
}

// "target = 127.0.0.1:8080", "cert = /etc/x.pem", "listen = [::1]:443",
// "name = web": a value that is a string to a person but not to TOML, which
// then reports a time or "could not determine value type".
std::string quote_hint(std::string_view text, int line) {
    if (line < 1) return "";
    size_t start = 0;
    for (int i = 1; i < line; ++i) {
        start = text.find('\n', start);
        if (start == std::string_view::npos) return "";
        ++start;
    }
    std::string_view l = text.substr(start, text.find('\n', start) - start);
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) return "";
    std::string_view key = trim(l.substr(0, eq));
    std::string_view value = l.substr(eq + 1);
    value = trim(value.substr(0, value.find('#')));
    if (!bare_key(key) || value.empty() || value == "true" || value == "false") return "";
    char first = value.front();
    if (first == '"' || first == '\'' || first == '{') return "";
    // An array, unless it is a bracketed IPv6 address with a port.
    if (first == '[' && value.find("]:") == std::string_view::npos) return "";
    bool address_or_path = value.find_first_of(":/*") != std::string_view::npos;
    bool word = true;
    for (char c : value)
        word = word && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.');
    bool number = value.find_first_not_of("0123456789_+-.eE") == std::string_view::npos &&
                  std::count(value.begin(), value.end(), '.') <= 1;
    if (number || (!address_or_path && !word)) return "";
    return strfmt(" (a string needs double quotes: %.*s = \"%.*s\")", int(key.size()), key.data(),
                  int(value.size()), value.data());
}

}  // namespace

const ConfigNode* ConfigNode::get(std::string_view key) const {
    for (const ConfigEntry& e : entries)
        if (e.key == key) return &e.value;
    return nullptr;
}

SourcePosition ConfigNode::key_position(std::string_view key) const {
    for (const ConfigEntry& e : entries)
        if (e.key == key) return e.key_at;
    return {};
}

Result<ConfigNode> parse_toml_document(std::string_view text, const std::string& source) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        int line = static_cast<int>(e.source().begin.line);
        std::string where = line > 0 ? strfmt("%s:%d: ", source.c_str(), line) : source + ": ";
        return Error{ErrorKind::config,
                     where + std::string(e.description()) + quote_hint(text, line)};
    }
    return convert(root);
}

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

std::string describe(const ConfigNode& n) {
    switch (n.type) {
        case ConfigNode::Type::string:
            return quoted(n.text);
        case ConfigNode::Type::integer:
            return strfmt("%lld", static_cast<long long>(n.integer));
        case ConfigNode::Type::floating:
            return strfmt("%g", n.floating);
        case ConfigNode::Type::boolean:
            return n.boolean ? "true" : "false";
        case ConfigNode::Type::array:
            return "an array";
        case ConfigNode::Type::table:
            return "a table";
        case ConfigNode::Type::date:
            return "a date";
        case ConfigNode::Type::time:
            return "a time";
        case ConfigNode::Type::date_time:
            return "a date-time";
    }
    return "nothing";
}

}  // namespace tlsward::supervisor
