// netproc's wait for the client's whole ClientHello, across records,
// before a helper is used (netproc/client_hello.hpp).
#include <catch2/catch.hpp>

#include <vector>

#include "netproc/client_hello.hpp"

using tlsward::netproc::client_hello_ready;
using tlsward::netproc::kClientHelloMaxLength;
using tlsward::netproc::kClientHelloMaxRecords;
using tlsward::netproc::kClientHelloPeek;
using Bytes = std::vector<uint8_t>;

namespace {

// A handshake message of `type` with `body_len` bytes of body (0xab).
Bytes message(size_t body_len, uint8_t type = 1) {
    Bytes m{type, static_cast<uint8_t>(body_len >> 16), static_cast<uint8_t>(body_len >> 8),
            static_cast<uint8_t>(body_len)};
    m.resize(4 + body_len, 0xab);
    return m;
}

Bytes record(uint8_t type, std::span<const uint8_t> fragment) {
    Bytes r(5 + fragment.size());
    r[0] = type;
    r[1] = 3;
    r[2] = 1;
    r[3] = static_cast<uint8_t>(fragment.size() >> 8);
    r[4] = static_cast<uint8_t>(fragment.size());
    std::copy(fragment.begin(), fragment.end(), r.begin() + 5);
    return r;
}

// `msg` in handshake records of at most `size` bytes each.
Bytes fragmented(const Bytes& msg, size_t size) {
    Bytes out;
    for (size_t at = 0; at < msg.size(); at += size) {
        auto rec = record(22, std::span(msg).subspan(at, std::min(size, msg.size() - at)));
        out.insert(out.end(), rec.begin(), rec.end());
    }
    return out;
}

void append(Bytes& to, const Bytes& more) {
    to.insert(to.end(), more.begin(), more.end());
}

// Ready exactly once all of `wire` is there, never before.
void ready_only_at_the_end(const Bytes& wire) {
    for (size_t n = 0; n < wire.size(); ++n) {
        INFO("after " << n << " of " << wire.size() << " bytes");
        REQUIRE_FALSE(client_hello_ready(std::span(wire).first(n)));
    }
    CHECK(client_hello_ready(wire));
}

}  // namespace

TEST_CASE("client hello: in one record, ready only when all of it has arrived", "[client_hello]") {
    Bytes wire = fragmented(message(252), 16384);  // a 256-byte handshake record
    ready_only_at_the_end(wire);
    wire.push_back(22);  // the start of a second record changes nothing
    CHECK(client_hello_ready(wire));
    CHECK_FALSE(client_hello_ready(std::span(wire).first(10)));
}

TEST_CASE("client hello: followed across records, however small", "[client_hello]") {
    // One byte per record, with a 20-byte and a 1,024-byte extension's worth
    // of body (a conformance suite's "maximum fragmentation" cases).
    for (size_t body : {100, 120, 1124}) {
        for (size_t size : {1, 2, 3, 5, 20, 127, 1024}) {
            INFO("body " << body << ", records of " << size);
            ready_only_at_the_end(fragmented(message(body), size));
        }
    }
}

TEST_CASE("client hello: the handshake header itself may be split", "[client_hello]") {
    Bytes msg = message(40);
    for (size_t split = 1; split < 4; ++split) {
        Bytes wire = record(22, std::span(msg).first(split));
        append(wire, record(22, std::span(msg).subspan(split)));
        INFO("split after " << split);
        ready_only_at_the_end(wire);
    }
}

TEST_CASE("client hello: what follows the message is the helper's", "[client_hello]") {
    Bytes msg = message(300);
    // The last record carries the end of the ClientHello and more bytes.
    Bytes tail(msg.begin() + 200, msg.end());
    tail.resize(tail.size() + 50, 0xcd);
    Bytes wire = record(22, std::span(msg).first(200));
    append(wire, record(22, tail));
    ready_only_at_the_end(wire);
    // Early data or a ChangeCipherSpec after a complete ClientHello.
    Bytes more = fragmented(msg, 64);
    append(more, record(23, Bytes(30, 1)));
    CHECK(client_hello_ready(more));
}

TEST_CASE("client hello: empty records add nothing", "[client_hello]") {
    Bytes msg = message(60);
    Bytes wire = record(22, {});
    append(wire, record(22, std::span(msg).first(30)));
    append(wire, record(22, {}));
    append(wire, record(22, std::span(msg).subspan(30)));
    ready_only_at_the_end(wire);
}

TEST_CASE("client hello: what can never be one goes to the helper at once", "[client_hello]") {
    Bytes http{'G', 'E', 'T'};
    CHECK(client_hello_ready(http));  // not TLS: the helper answers with an alert
    Bytes sslv2{0x80, 0x2e};
    CHECK(client_hello_ready(sslv2));
    Bytes huge{22, 3, 1, 0x40, 0x01};  // 2^14 + 1: record_overflow
    CHECK(client_hello_ready(huge));
    Bytes max{22, 3, 1, 0x40, 0x00};  // 2^14 is allowed: wait for it
    CHECK_FALSE(client_hello_ready(max));
    Bytes nothing;
    CHECK_FALSE(client_hello_ready(nothing));

    SECTION("a record of another type inside the message") {
        Bytes msg = message(100);
        Bytes wire = record(22, std::span(msg).first(50));
        CHECK_FALSE(client_hello_ready(wire));
        for (uint8_t type : {20, 21, 23, 0x80}) {
            Bytes w = wire;
            w.push_back(type);  // its first byte is enough
            CHECK(client_hello_ready(w));
        }
    }
    SECTION("a later record over 2^14") {
        Bytes msg = message(100);
        Bytes wire = record(22, std::span(msg).first(50));
        append(wire, Bytes{22, 3, 3, 0x40, 0x01});
        CHECK(client_hello_ready(wire));
    }
    SECTION("a first message that is not a ClientHello") {
        Bytes wire = fragmented(message(100, 2), 10);                // a ServerHello
        CHECK_FALSE(client_hello_ready(std::span(wire).first(14)));  // a record is read whole
        CHECK(client_hello_ready(std::span(wire).first(15)));
    }
    SECTION("a ClientHello longer than OpenSSL takes") {
        Bytes head{1, static_cast<uint8_t>((kClientHelloMaxLength + 1) >> 16),
                   static_cast<uint8_t>((kClientHelloMaxLength + 1) >> 8),
                   static_cast<uint8_t>(kClientHelloMaxLength + 1)};
        CHECK(client_hello_ready(record(22, head)));
        Bytes at_limit{1, static_cast<uint8_t>(kClientHelloMaxLength >> 16),
                       static_cast<uint8_t>(kClientHelloMaxLength >> 8),
                       static_cast<uint8_t>(kClientHelloMaxLength)};
        CHECK_FALSE(client_hello_ready(record(22, at_limit)));
    }
}

TEST_CASE("client hello: bounded waiting", "[client_hello]") {
    SECTION("a full peek window hands the socket over") {
        // A 100 KiB ClientHello in full records: more than netproc waits for.
        Bytes wire = fragmented(message(100 * 1024), 16384);
        REQUIRE(wire.size() > kClientHelloPeek);
        CHECK_FALSE(client_hello_ready(std::span(wire).first(kClientHelloPeek - 1)));
        CHECK(client_hello_ready(std::span(wire).first(kClientHelloPeek)));
    }
    SECTION("more records than the cap hands the socket over") {
        Bytes wire = fragmented(message(3000), 1);
        size_t cap_bytes = kClientHelloMaxRecords * 6;  // 6 bytes per one-byte record
        REQUIRE(cap_bytes < kClientHelloPeek);
        CHECK_FALSE(client_hello_ready(std::span(wire).first(cap_bytes)));
        // The header of the record after the cap is enough.
        CHECK_FALSE(client_hello_ready(std::span(wire).first(cap_bytes + 4)));
        CHECK(client_hello_ready(std::span(wire).first(cap_bytes + 5)));
        // Empty records count too.
        Bytes empties;
        for (size_t i = 0; i <= kClientHelloMaxRecords; ++i) append(empties, record(22, {}));
        CHECK(client_hello_ready(empties));
        CHECK_FALSE(client_hello_ready(std::span(empties).first(empties.size() - 1)));
    }
}
