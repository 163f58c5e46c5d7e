#include "common/log_format.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "common/logfmt.hpp"

namespace tlsward {

namespace {

// One conversion of the format, read from a va_list. The va_list is a
// local of log_vformat (not a parameter), so a pointer to it is a
// va_list* on every ABI.
class Converter {
public:
    explicit Converter(va_list* ap) : ap_(ap) {}

    // Appends the conversion starting at p ('%') to `out` as printf
    // would; returns the character after it.
    const char* convert(const char* p, std::string& out) {
        std::string spec = "%";
        const char* q = p + 1;
        while (*q && std::string_view("-+ #0'").find(*q) != std::string_view::npos) spec += *q++;
        if (*q == '*') {
            spec += std::to_string(va_arg(*ap_, int));
            ++q;
        }
        while (*q >= '0' && *q <= '9') spec += *q++;
        if (*q == '.') {
            spec += *q++;
            if (*q == '*') {
                spec += std::to_string(va_arg(*ap_, int));
                ++q;
            }
            while (*q >= '0' && *q <= '9') spec += *q++;
        }
        std::string length;
        while (*q && std::string_view("hljztL").find(*q) != std::string_view::npos) length += *q++;
        char conv = *q;
        if (conv == '\0') {  // a lone '%' at the end: printed as is
            out.append(p, q);
            return q;
        }
        ++q;
        spec += length;
        spec += conv;
        switch (conv) {
            case '%':
                out += '%';
                break;
            case 'd':
            case 'i':
                signed_arg(spec, length, out);
                break;
            case 'u':
            case 'o':
            case 'x':
            case 'X':
                unsigned_arg(spec, length, out);
                break;
            case 'c':
                append(out, spec.c_str(), va_arg(*ap_, int));
                break;
            case 's': {
                const char* s = va_arg(*ap_, const char*);
                append(out, spec.c_str(), s != nullptr ? s : "(null)");
                break;
            }
            case 'p':
                append(out, spec.c_str(), va_arg(*ap_, void*));
                break;
            case 'f':
            case 'F':
            case 'e':
            case 'E':
            case 'g':
            case 'G':
            case 'a':
            case 'A':
                if (length == "L")
                    append(out, spec.c_str(), va_arg(*ap_, long double));
                else
                    append(out, spec.c_str(), va_arg(*ap_, double));
                break;
            case 'n':
                (void)va_arg(*ap_, void*);  // never written through
                break;
            default:  // not a conversion: printed as is
                out.append(p, q);
                break;
        }
        return q;
    }

private:
    template <class T>
    static void append(std::string& out, const char* spec, T v) {
        char buf[128];
        int n = std::snprintf(buf, sizeof buf, spec, v);
        if (n < 0) return;
        if (static_cast<size_t>(n) < sizeof buf) {
            out.append(buf, static_cast<size_t>(n));
            return;
        }
        size_t at = out.size();
        out.resize(at + static_cast<size_t>(n) + 1);
        std::snprintf(out.data() + at, static_cast<size_t>(n) + 1, spec, v);
        out.resize(at + static_cast<size_t>(n));
    }

    // l, j, z and t are all long-sized on the LP64 systems tlsward runs on.
    static_assert(sizeof(intmax_t) == sizeof(long) && sizeof(ptrdiff_t) == sizeof(long) &&
                  sizeof(size_t) == sizeof(long));
    static bool long_sized(const std::string& length) {
        return length == "l" || length == "j" || length == "z" || length == "t";
    }

    void signed_arg(const std::string& spec, const std::string& length, std::string& out) {
        if (length == "ll")
            append(out, spec.c_str(), va_arg(*ap_, long long));
        else if (long_sized(length))
            append(out, spec.c_str(), va_arg(*ap_, long));
        else
            append(out, spec.c_str(), va_arg(*ap_, int));  // hh, h and none: promoted to int
    }

    void unsigned_arg(const std::string& spec, const std::string& length, std::string& out) {
        if (length == "ll")
            append(out, spec.c_str(), va_arg(*ap_, unsigned long long));
        else if (long_sized(length))
            append(out, spec.c_str(), va_arg(*ap_, unsigned long));
        else
            append(out, spec.c_str(), va_arg(*ap_, unsigned));
    }

    va_list* ap_;
};

bool key_start(char c) {
    return c >= 'a' && c <= 'z';
}
bool key_char(char c) {
    return key_start(c) || (c >= '0' && c <= '9') || c == '_';
}

// Where in the line the format is: before a word, in a bare value, in a
// quoted value, in a word that is not a pair (a fragment).
enum class Place { word_start, bare, quoted, fragment };

}  // namespace

std::string log_vformat(const char* fmt, va_list ap_in) {
    va_list ap;
    va_copy(ap, ap_in);
    Converter conv(&ap);
    std::string out;
    std::string bare;  // the bare value being built, quoted at its end if it must be
    std::string arg;
    Place place = Place::word_start;
    const char* p = fmt;
    while (*p != '\0') {
        switch (place) {
            case Place::word_start: {
                if (*p == ' ') {
                    out += *p++;
                    break;
                }
                const char* k = p;
                while (key_char(*k)) ++k;
                if (k > p && key_start(*p) && *k == '=') {
                    out.append(p, k + 1);
                    p = k + 1;
                    if (*p == '"') {
                        out += *p++;
                        place = Place::quoted;
                    } else {
                        place = Place::bare;
                    }
                } else {
                    place = Place::fragment;
                }
                break;
            }
            case Place::bare:
                if (*p == ' ') {
                    logfmt::append_value(out, bare);
                    bare.clear();
                    place = Place::word_start;
                } else if (*p == '%') {
                    p = conv.convert(p, bare);
                } else {
                    bare += *p++;
                }
                break;
            case Place::quoted:
                if (*p == '"') {
                    out += *p++;
                    place = Place::word_start;
                } else if (*p == '\\' && p[1] != '\0') {
                    out.append(p, 2);  // an escape written in the format
                    p += 2;
                } else if (*p == '%') {
                    arg.clear();
                    p = conv.convert(p, arg);
                    std::string quoted;
                    logfmt::append_quoted(quoted, arg);
                    out.append(quoted, 1, quoted.size() - 2);
                } else {
                    out += *p++;
                }
                break;
            case Place::fragment:
                if (*p == ' ') {
                    place = Place::word_start;
                } else if (*p == '%') {
                    arg.clear();
                    p = conv.convert(p, arg);
                    logfmt::append_text(out, arg);
                } else {
                    out += *p++;
                }
                break;
        }
    }
    if (place == Place::bare) logfmt::append_value(out, bare);
    if (place == Place::quoted) out += '"';
    va_end(ap);
    return out;
}

std::string log_format(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = log_vformat(fmt, ap);
    va_end(ap);
    return s;
}

}  // namespace tlsward
