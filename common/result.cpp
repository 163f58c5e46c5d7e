#include "common/result.hpp"

#include <cstdio>

namespace tlsward {

std::string vstrfmt(const char* fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    char small[256];
    int n = std::vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0) return "(format error)";
    if (static_cast<size_t>(n) < sizeof small) return std::string(small, static_cast<size_t>(n));
    std::string out(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(out.data(), out.size(), fmt, ap);
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string strfmt(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vstrfmt(fmt, ap);
    va_end(ap);
    return s;
}

const char* error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::internal:
            return "internal";
        case ErrorKind::io:
            return "io";
        case ErrorKind::peer_closed:
            return "peer_closed";
        case ErrorKind::protocol:
            return "protocol";
        case ErrorKind::config:
            return "config";
    }
    return "internal";
}

Error err(ErrorKind kind, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    Error e{kind, vstrfmt(fmt, ap)};
    va_end(ap);
    return e;
}

}  // namespace tlsward
