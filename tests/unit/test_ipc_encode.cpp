// Encoding never writes something other than what it was given: a value
// over its field, a length over its prefix, a string over kMaxString or a
// body over one frame fails the encoding (ByteWriter's sticky error,
// encode_body's Result), and a failed encoding is never sent.
#include <catch2/catch.hpp>

#include <uv.h>

#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "error_kind_printer.hpp"
#include "ipc/channel.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"

using namespace tlsward;
using namespace tlsward::ipc;

TEST_CASE("ByteWriter: values that fit their fields are written big-endian", "[ipc][bytes]") {
    ByteWriter w;
    w.u8(0xff);
    w.u16(0xffff);
    w.u24(0xffffff);
    w.u32(0xffffffff);
    w.u64(0x0102030405060708);
    w.u8_string(std::string(255, 'a'));
    w.u16_bytes(std::vector<uint8_t>(65535, 1));
    REQUIRE(w.ok());
    const SecureBytes& b = w.buffer();
    CHECK(b.size() == 1 + 2 + 3 + 4 + 8 + 1 + 255 + 2 + 65535);
    CHECK(std::vector<uint8_t>(b.begin() + 10, b.begin() + 18) ==
          std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(b[18] == 255);
    CHECK(b[18 + 256] == 0xff);
    CHECK(b[18 + 257] == 0xff);
}

TEST_CASE("ByteWriter: a value over its field fails and nothing more is written", "[ipc][bytes]") {
    struct Case {
        const char* name;
        void (*write)(ByteWriter&);
    };
    const Case cases[] = {
        {"u8 of 256", [](ByteWriter& w) { w.u8(256); }},
        {"u16 of 65536", [](ByteWriter& w) { w.u16(65536); }},
        {"u24 of 2^24", [](ByteWriter& w) { w.u24(1u << 24); }},
        {"u32 of 2^32", [](ByteWriter& w) { w.u32(uint64_t{1} << 32); }},
        {"u8 prefix over 256 bytes", [](ByteWriter& w) { w.u8_string(std::string(256, 'x')); }},
        {"u8 prefix over 300 bytes",
         [](ByteWriter& w) { w.u8_bytes(std::vector<uint8_t>(300, 7)); }},
        {"u16 prefix over 65536 bytes",
         [](ByteWriter& w) { w.u16_bytes(std::vector<uint8_t>(65536, 7)); }},
        {"u16 string over 65536 bytes",
         [](ByteWriter& w) { w.u16_string(std::string(70000, 'x')); }},
        {"u8 length field over 256 bytes",
         [](ByteWriter& w) {
             size_t at = w.begin_length(1);
             w.zeros(256);
             w.end_length(at, 1);
         }},
        {"u16 length field over 65536 bytes",
         [](ByteWriter& w) {
             size_t at = w.begin_length(2);
             w.zeros(65536);
             w.end_length(at, 2);
         }},
        {"u24 length field over 2^24 bytes",
         [](ByteWriter& w) {
             size_t at = w.begin_length(3);
             w.zeros(size_t{1} << 24);
             w.end_length(at, 3);
         }},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        ByteWriter w;
        w.u8(1);
        REQUIRE(w.ok());
        c.write(w);
        CHECK_FALSE(w.ok());
        size_t after = w.size();
        // Sticky: every later write is refused, whatever it is.
        w.u8(2);
        w.u32(3);
        w.bytes(std::string_view("more"));
        w.u16_string("x");
        w.zeros(4);
        size_t at = w.begin_length(2);
        w.end_length(at, 2);
        CHECK_FALSE(w.ok());
        CHECK(w.size() == after);
    }
    // A prefix that cannot hold its length writes neither the prefix nor
    // the bytes.
    ByteWriter w;
    w.u16_string(std::string(70000, 'x'));
    CHECK(w.size() == 0);
    // The length field's own bytes stay zero: nothing was cut and written.
    ByteWriter f;
    size_t at = f.begin_length(1);
    f.zeros(256);
    f.end_length(at, 1);
    CHECK(f.buffer()[at] == 0);
}

TEST_CASE("encode_body: a string over kMaxString fails the encoding instead of being cut",
          "[ipc]") {
    NpHelperFailed m{1, 2, std::string(kMaxString, 'r')};
    auto fits = encode_body(m);
    REQUIRE(fits.ok());
    auto back = decode_body<NpHelperFailed>(fits.value());
    REQUIRE(back.ok());
    CHECK(back->reason == m.reason);

    m.reason.push_back('!');
    auto over = encode_body(m);
    REQUIRE_FALSE(over.ok());
    CHECK(over.kind() == ErrorKind::internal);
    CHECK(over.message() == "NP_HELPER_FAILED: a field is longer than its encoding holds");

    HandshakeJob job;
    job.server_name = std::string(kMaxString + 1, 'a');
    CHECK_FALSE(encode_body(job).ok());
    HandshakeFailed failed;
    failed.detail = std::string(kMaxString + 1, 'e');
    CHECK_FALSE(encode_body(failed).ok());
}

TEST_CASE("encode_body: length prefixes that cannot hold their field fail", "[ipc]") {
    SECTION("a u8-prefixed server name of 256 bytes (HANDSHAKE_DONE)") {
        HandshakeDone d;
        d.cipher_suite = 0x1301;
        d.tls_version = 0x0304;
        d.sni = std::string(256, 's');
        auto r = encode_body(d);
        REQUIRE_FALSE(r.ok());
        CHECK(r.kind() == ErrorKind::internal);
        CHECK(r.message() == "HANDSHAKE_DONE: a field is longer than its encoding holds");
    }
    SECTION("a u8-prefixed ticket key of 300 bytes (CP_TICKET_KEYS)") {
        CpTicketKeys k;
        k.keys.emplace_back(std::vector<uint8_t>(300, 0x5a));
        CHECK_FALSE(encode_body(k).ok());
    }
    SECTION("a u8 count of 256 ticket keys") {
        CpTicketKeys k;
        for (int i = 0; i < 256; ++i) k.keys.emplace_back(std::vector<uint8_t>(48, 1));
        CHECK_FALSE(encode_body(k).ok());
    }
    SECTION("a u16 count of 65536 allow_cn entries (CP_SERVICE)") {
        CpService s;
        s.tls.allow_cn.assign(65536, "c");
        CHECK_FALSE(encode_body(s).ok());
    }
    SECTION("a u8-prefixed SNI of 300 bytes (NP_SERVICE)") {
        NpService s;
        s.server_name = std::string(300, 'n');
        CHECK_FALSE(encode_body(s).ok());
    }
}

TEST_CASE("encode_body: a body over one frame fails", "[ipc]") {
    CpTrust t;
    t.service_id = 1;
    t.der.assign(kMaxBody, 0x30);  // plus its own header: over the limit
    auto r = encode_body(t);
    REQUIRE_FALSE(r.ok());
    CHECK(r.kind() == ErrorKind::internal);
    CHECK(r.message() == "CP_TRUST: body of 65529 bytes exceeds the 65520-byte limit");
    t.der.resize(kMaxBody - 9);  // exactly one frame
    auto fits = encode_body(t);
    REQUIRE(fits.ok());
    CHECK(fits->size() == kMaxBody);
}

TEST_CASE("bounded_text cuts an informational text and marks the cut", "[ipc]") {
    CHECK(bounded_text("short") == "short");
    CHECK(bounded_text(std::string(kMaxString, 'a')) == std::string(kMaxString, 'a'));
    std::string cut = bounded_text(std::string(kMaxString + 10, 'a'));
    CHECK(cut.size() == kMaxString);
    CHECK(cut.substr(cut.size() - 3) == "...");
    CHECK(bounded_text("abcdefgh", 6) == "abc...");
    CHECK(bounded_text("abcdefgh", 2) == "ab");
    // What a helper does with an OpenSSL error queue: it then encodes.
    HandshakeFailed f;
    f.detail = bounded_text(std::string(10000, 'q'));
    CHECK(encode_body(f).ok());
}

TEST_CASE("a uv channel sends nothing for a failed encoding and stays up", "[ipc]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = make_channel_pair();
        REQUIRE(pair.ok());
        auto& [a, b] = pair.value();
        int failures = 0;
        UvChannel sender(
            &loop, std::move(a), "test", [](Message&&) {}, [&](const Error&) { ++failures; });
        NpHelperFailed too_long{1, 1, std::string(kMaxString + 1, 'x')};
        CHECK_FALSE(sender.send(MsgType::np_helper_failed, 5, encode_body(too_long)));
        CHECK_FALSE(sender.failed());
        CHECK(failures == 0);
        CHECK(sender.send(MsgType::ping, 6, encode_body(Ping{6})));
        auto got = recv_frame(b.get());
        REQUIRE(got.ok());
        REQUIRE(got.value().has_value());
        CHECK(got.value()->type() == MsgType::ping);  // the failed one never went
        CHECK(got.value()->request_id() == 6);
        auto none = recv_frame(b.get());
        REQUIRE(none.ok());
        CHECK_FALSE(none.value().has_value());
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}
