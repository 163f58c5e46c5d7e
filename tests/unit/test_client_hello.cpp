// netproc's wait for the client's first record before a helper is used
// (netproc/client_hello.hpp).
#include <catch2/catch.hpp>

#include <vector>

#include "netproc/client_hello.hpp"

using tlsward::netproc::first_record_complete;

TEST_CASE("the first record is complete only when all of it has arrived", "[client_hello]") {
    std::vector<uint8_t> rec{22, 3, 1, 0x01, 0x00};  // a 256-byte handshake record
    rec.resize(5 + 256, 0xab);
    for (size_t n = 0; n < rec.size(); ++n)
        CHECK_FALSE(first_record_complete(std::span(rec).first(n)));
    CHECK(first_record_complete(rec));
    rec.push_back(22);  // the start of a second record changes nothing
    CHECK(first_record_complete(rec));
}

TEST_CASE("what can never be a ClientHello goes to the helper at once", "[client_hello]") {
    std::vector<uint8_t> http{'G', 'E', 'T'};
    CHECK(first_record_complete(http));  // not TLS: the helper answers with an alert
    std::vector<uint8_t> sslv2{0x80, 0x2e};
    CHECK(first_record_complete(sslv2));
    std::vector<uint8_t> huge{22, 3, 1, 0x40, 0x01};  // 2^14 + 1: record_overflow
    CHECK(first_record_complete(huge));
    std::vector<uint8_t> max{22, 3, 1, 0x40, 0x00};  // 2^14 is allowed: wait for it
    CHECK_FALSE(first_record_complete(max));
    std::vector<uint8_t> empty;
    CHECK_FALSE(first_record_complete(empty));
}
