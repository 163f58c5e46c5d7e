#include "common/logfmt.hpp"

#include <cstdint>

namespace tlsward::logfmt {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex_escape(std::string& out, unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
}

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), 0 if there is none;
// `cp` gets its code point.
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
    unsigned char c = b(0);
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf && cont(1)) {
        cp = (c & 0x1fu) << 6 | (b(1) & 0x3fu);
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef && cont(1) && cont(2)) {
        if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f)) return 0;
        cp = (c & 0x0fu) << 12 | (b(1) & 0x3fu) << 6 | (b(2) & 0x3fu);
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4 && cont(1) && cont(2) && cont(3)) {
        if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) > 0x8f)) return 0;
        cp = (c & 0x07u) << 18 | (b(1) & 0x3fu) << 12 | (b(2) & 0x3fu) << 6 | (b(3) & 0x3fu);
        return 4;
    }
    return 0;
}

// Code points that are valid UTF-8 but change what a reader sees: C1
// controls (some terminals act on them), line and paragraph separators,
// and the bidi controls that reorder the text around them.
bool invisible_control(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
           cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Appends s[i...] as text with every byte that is not printable escaped;
// `quote` also escapes '"' and '\' (inside a quoted value).
void append_escaped(std::string& out, std::string_view s, bool quote) {
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            uint32_t cp = 0;
            size_t n = utf8_sequence(s, i, cp);
            if (n == 0 || invisible_control(cp)) {
                // Each byte on its own: reading \xNN back gives it exactly.
                for (size_t k = 0; k < (n == 0 ? 1 : n); ++k)
                    append_hex_escape(out, static_cast<unsigned char>(s[i + k]));
                i += n == 0 ? 1 : n;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        ++i;
        if (quote && (c == '"' || c == '\\')) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            append_hex_escape(out, c);
        } else {
            out += static_cast<char>(c);
        }
    }
}

bool key_start(char c) {
    return c >= 'a' && c <= 'z';
}
bool key_char(char c) {
    return key_start(c) || (c >= '0' && c <= '9') || c == '_';
}
bool bare_char(char c) {
    return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}
int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads one pair at line[i...]; false if what is there is not one.
bool read_pair(std::string_view line, size_t& i, Field& f) {
    const size_t n = line.size();
    size_t k = i;
    if (k >= n || !key_start(line[k])) return false;
    while (k < n && key_char(line[k])) ++k;
    if (k >= n || line[k] != '=') return false;
    f.key.assign(line.substr(i, k - i));
    f.value.clear();
    i = k + 1;
    if (i < n && line[i] == '"') {
        ++i;
        while (true) {
            if (i >= n) return false;  // unterminated
            auto c = static_cast<unsigned char>(line[i]);
            if (c == '"') {
                ++i;
                break;
            }
            if (c == '\\') {
                if (i + 1 >= n) return false;
                char e = line[i + 1];
                i += 2;
                if (e == '"' || e == '\\') {
                    f.value += e;
                } else if (e == 'n') {
                    f.value += '\n';
                } else if (e == 'r') {
                    f.value += '\r';
                } else if (e == 't') {
                    f.value += '\t';
                } else if (e == 'x' && i + 1 < n && hex_digit(line[i]) >= 0 &&
                           hex_digit(line[i + 1]) >= 0) {
                    f.value += static_cast<char>(hex_digit(line[i]) * 16 + hex_digit(line[i + 1]));
                    i += 2;
                } else {
                    return false;
                }
                continue;
            }
            if (c < 0x20 || c == 0x7f) return false;
            if (c >= 0x80) {
                uint32_t cp = 0;
                size_t len = utf8_sequence(line, i, cp);
                if (len == 0) return false;
                f.value.append(line.substr(i, len));
                i += len;
                continue;
            }
            f.value += static_cast<char>(c);
            ++i;
        }
        return i >= n || line[i] == ' ';
    }
    size_t start = i;
    while (i < n && bare_char(line[i])) ++i;
    f.value.assign(line.substr(start, i - start));
    return i >= n || line[i] == ' ';
}

}  // namespace

void append_quoted(std::string& out, std::string_view value) {
    out += '"';
    append_escaped(out, value, true);
    out += '"';
}

void append_value(std::string& out, std::string_view value) {
    bool bare = !value.empty();
    for (char c : value)
        if (!bare_char(c)) bare = false;
    if (bare)
        out.append(value);
    else
        append_quoted(out, value);
}

std::string value(std::string_view v) {
    std::string out;
    append_value(out, v);
    return out;
}

void append_text(std::string& out, std::string_view text) {
    append_escaped(out, text, false);
}

bool parse(std::string_view line, std::vector<Field>& out) {
    size_t i = 0;
    while (true) {
        Field f;
        if (!read_pair(line, i, f)) return false;
        out.push_back(std::move(f));
        if (i == line.size()) return true;
        ++i;  // the one space between pairs
    }
}

std::vector<Field> parse_lenient(std::string_view line) {
    std::vector<Field> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i == line.size()) break;
        Field f;
        size_t at = i;
        if (read_pair(line, at, f)) {
            out.push_back(std::move(f));
            i = at;
        } else {
            while (i < line.size() && line[i] != ' ') ++i;  // not a pair: skip the word
        }
    }
    return out;
}

}  // namespace tlsward::logfmt
