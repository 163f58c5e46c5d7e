#include "common/openssl_error.hpp"

#include <openssl/err.h>

namespace tlsward {

std::string openssl_errors() {
    std::string out;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "no OpenSSL error reported" : out;
}

}  // namespace tlsward
