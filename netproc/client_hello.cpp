#include "netproc/client_hello.hpp"

#include "common/bytes.hpp"

namespace tlsward::netproc {

namespace {
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;
constexpr size_t kMaxPlaintextRecord = 16384;
}  // namespace

bool client_hello_ready(std::span<const uint8_t> peeked) {
    // More bytes are needed: wait, unless the peek window is full.
    const bool window_full = peeked.size() >= kClientHelloPeek;
    ByteReader r(peeked);
    uint8_t header[kHandshakeHeader] = {};
    size_t header_have = 0;  // bytes of the handshake header seen so far
    size_t body_left = 0;    // ClientHello body bytes still to come, once the header is in
    for (size_t records = 0;; ++records) {
        uint8_t type = 0;
        uint16_t version = 0;
        uint16_t length = 0;
        if (!r.u8(type)) return window_full;
        // Not a handshake record (or not TLS at all): the helper refuses it.
        if (type != kContentHandshake) return true;
        if (!r.u16(version) || !r.u16(length)) return window_full;
        if (length > kMaxPlaintextRecord) return true;  // record_overflow, from the helper
        if (records == kClientHelloMaxRecords) return true;
        std::span<const uint8_t> fragment;
        if (!r.bytes(length, fragment)) return window_full;
        // An empty record adds nothing (and counts towards the record cap).
        while (!fragment.empty() && header_have < kHandshakeHeader) {
            header[header_have++] = fragment[0];
            fragment = fragment.subspan(1);
            if (header_have < kHandshakeHeader) continue;
            if (header[0] != kHandshakeClientHello) return true;  // unexpected_message
            body_left = static_cast<size_t>(header[1]) << 16 | static_cast<size_t>(header[2]) << 8 |
                        header[3];
            if (body_left > kClientHelloMaxLength) return true;  // too long for OpenSSL
        }
        if (header_have < kHandshakeHeader) continue;
        if (fragment.size() >= body_left) return true;  // the whole message is here
        body_left -= fragment.size();
    }
}

}  // namespace tlsward::netproc
