#include "netproc/client_hello.hpp"

#include "common/bytes.hpp"

namespace tlsward::netproc {

namespace {
constexpr uint8_t kContentHandshake = 22;
constexpr size_t kMaxPlaintextRecord = 16384;
}  // namespace

bool first_record_complete(std::span<const uint8_t> peeked) {
    ByteReader r(peeked);
    uint8_t type = 0;
    uint16_t version = 0;
    uint16_t length = 0;
    if (!r.u8(type)) return false;
    if (type != kContentHandshake) return true;  // not TLS: the helper refuses it
    if (!r.u16(version) || !r.u16(length)) return false;
    if (length > kMaxPlaintextRecord) return true;  // record_overflow, from the helper
    return r.remaining() >= length;
}

}  // namespace tlsward::netproc
