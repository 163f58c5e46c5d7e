// Malformed and unwanted input: each case ends the connection with the
// exact alert (sealed for the peer, who can read it), or, where the RFCs
// say so, waits or carries on.
#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

// One connection: `layer` is under test, `peer` seals what the other side
// sends, `view` is the other side reading what `layer` sends back.
struct Conn {
    ipc::HandshakeDone h;
    std::unique_ptr<RecordLayer> layer;
    std::unique_ptr<RecordLayer> view;
    PeerSealer peer;
    Side side;
    Side view_side;

    explicit Conn(uint16_t suite, bool we_are_server = true, uint64_t cseq = 0, uint64_t sseq = 0)
        : h(fixed_handoff(suite, cseq, sseq)),
          layer(make_layer(h, we_are_server)),
          view(make_layer(h, !we_are_server)),
          peer(h, !we_are_server) {}

    RecordLayer::ReadResult read() { return layer->read_records(side.in, side.plain, side.cipher); }
};

// Reads, expects `want` as our fatal alert, and checks that the peer reads
// exactly that alert from what we sealed. Afterwards nothing is accepted.
void expect_fatal(Conn& c, Alert want) {
    auto r = c.read();
    INFO(r.detail);
    CHECK(r.outcome == Outcome::fatal);
    CHECK(r.alert == want);
    CHECK_FALSE(r.from_peer);
    CHECK_FALSE(r.detail.empty());
    CHECK_FALSE(c.layer->can_write());

    transfer(c.side, c.view_side);
    auto pr = c.view->read_records(c.view_side.in, c.view_side.plain, c.view_side.cipher);
    CHECK(pr.outcome == Outcome::fatal);
    CHECK(pr.from_peer);
    CHECK(pr.alert == want);

    auto again = c.read();
    CHECK(again.outcome == Outcome::fatal);
    CHECK(again.alert == want);
    CHECK(c.side.cipher.empty());  // no second alert
}

}  // namespace

TEST_CASE("malformed: bad record header type", "[record][malformed]") {
    SECTION("TLS 1.3") {
        Conn c(0x1301);
        c.side.feed(unhex("18 03 03 00 20"));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("TLS 1.3: a plaintext alert after the hand-off") {
        Conn c(0x1301);
        c.side.feed(unhex("15 03 03 00 02 02 28"));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("TLS 1.3: a plaintext handshake record") {
        Conn c(0x1302);
        c.side.feed(unhex("16 03 03 00 05 18 00 00 01 00"));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("TLS 1.2") {
        Conn c(0xC02B, true, 1, 1);
        c.side.feed(unhex("13 03 03 00 20"));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("TLS 1.3: inner content type 20 or 24") {
        Conn c(0x1301);
        c.side.feed(c.peer.seal13(20, Bytes{1}));
        expect_fatal(c, Alert::unexpected_message);
        Conn d(0x1303);
        d.side.feed(d.peer.seal13(24, Bytes{1, 2, 3}));
        expect_fatal(d, Alert::unexpected_message);
    }
}

TEST_CASE("malformed: record version", "[record][malformed]") {
    SECTION("TLS 1.2 wants 0x0303") {
        Conn c(0xC02C, true, 1, 1);
        c.side.feed(c.peer.seal12(23, bytes_of("data"), 0x0302));
        expect_fatal(c, Alert::protocol_version);
    }
    SECTION("TLS 1.3 ignores it (RFC 8446 5.1); it is authenticated all the same") {
        Conn c(0x1301);
        c.side.feed(c.peer.seal13_inner(Bytes{'o', 'k', 23}, 23, 0x0301));
        CHECK(read_ok(*c.layer, c.side) == bytes_of("ok"));
        auto rec = c.peer.seal13(23, bytes_of("changed"));
        rec[2] = 0x01;  // not what was authenticated
        c.side.feed(rec);
        expect_fatal(c, Alert::bad_record_mac);
    }
}

TEST_CASE("malformed: ciphertext longer than 2^14 + 256", "[record][malformed]") {
    for (uint16_t suite : {0x1301, 0xC02B}) {
        Conn c(suite, true, 1, 1);
        // The header alone is enough to refuse it: nothing more is awaited.
        c.side.feed(unhex("17 03 03 41 01"));
        expect_fatal(c, Alert::record_overflow);
    }
    Conn ok(0x1301);
    ok.side.feed(unhex("17 03 03 41 00"));  // 2^14 + 256 exactly: waits for the body
    CHECK(read_ok(*ok.layer, ok.side).empty());
    CHECK(ok.side.in.size() == 5);
}

TEST_CASE("malformed: record shorter than its tag", "[record][malformed]") {
    SECTION("TLS 1.3") {
        Conn c(0x1301);
        c.side.feed(concat({unhex("17 03 03 00 0f"), Bytes(15, 0)}));
        expect_fatal(c, Alert::bad_record_mac);
    }
    SECTION("TLS 1.2 AES-GCM: tag and explicit nonce") {
        Conn c(0xC02B, true, 1, 1);
        c.side.feed(concat({unhex("17 03 03 00 17"), Bytes(23, 0)}));
        expect_fatal(c, Alert::bad_record_mac);
    }
}

TEST_CASE("malformed: a flipped tag byte", "[record][malformed]") {
    for (uint16_t suite : {0x1301, 0x1302, 0x1303, 0xC02B, 0xCCA9}) {
        INFO(find_suite(suite)->name);
        Conn c(suite, true, 1, 1);
        auto rec = c.peer.app("tampered");
        rec.back() ^= 0x01;
        c.side.feed(rec);
        expect_fatal(c, Alert::bad_record_mac);
        CHECK(c.side.plain.empty());
    }
}

TEST_CASE("malformed: inner plaintext over 2^14 + 1", "[record][malformed]") {
    SECTION("content of 2^14 + 1") {
        Conn c(0x1301);
        c.side.feed(c.peer.seal13(23, pattern(16385)));
        expect_fatal(c, Alert::record_overflow);
    }
    SECTION("content of 2^14 plus one byte of padding") {
        Conn c(0x1301);
        c.side.feed(c.peer.seal13(23, pattern(16384), 1));
        expect_fatal(c, Alert::record_overflow);
    }
    SECTION("content of 2^14 exactly is fine, and so is padding") {
        Conn c(0x1301);
        c.side.feed(c.peer.seal13(23, pattern(16384)));
        CHECK(read_ok(*c.layer, c.side) == pattern(16384));
        c.side.feed(c.peer.seal13(23, bytes_of("padded"), 200));
        CHECK(read_ok(*c.layer, c.side) == bytes_of("padded"));
    }
    SECTION("TLS 1.2 plaintext of 2^14 + 1") {
        Conn c(0xCCA9, true, 1, 1);
        c.side.feed(c.peer.seal12(23, pattern(16385)));
        expect_fatal(c, Alert::record_overflow);
    }
}

TEST_CASE("malformed: all-zero inner plaintext", "[record][malformed]") {
    Conn c(0x1301);
    c.side.feed(c.peer.seal13_inner(Bytes(1, 0)));
    expect_fatal(c, Alert::unexpected_message);
    Conn d(0x1303);
    d.side.feed(d.peer.seal13_inner(Bytes(40, 0)));
    expect_fatal(d, Alert::unexpected_message);
}

TEST_CASE("malformed: change_cipher_spec after the handshake", "[record][malformed]") {
    Conn c(0x1301);
    c.side.feed(unhex("14 03 03 00 01 01"));
    expect_fatal(c, Alert::unexpected_message);
    Conn d(0xC02F, true, 1, 1);
    d.side.feed(unhex("14 03 03 00 01 01"));
    expect_fatal(d, Alert::unexpected_message);
}

TEST_CASE("malformed: KeyUpdate", "[record][malformed]") {
    SECTION("a trailing byte in the message") {
        Conn c(0x1301);
        c.side.feed(c.peer.handshake(key_update_msg(0, 1)));
        expect_fatal(c, Alert::decode_error);
    }
    SECTION("request_update 2") {
        Conn c(0x1301);
        c.side.feed(c.peer.handshake(key_update_msg(2)));
        expect_fatal(c, Alert::illegal_parameter);
    }
    SECTION("not at the end of its record") {
        Conn c(0x1301);
        c.side.feed(c.peer.handshake(concat({key_update_msg(0), key_update_msg(0)})));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("followed by part of another message") {
        Conn c(0x1302);
        c.side.feed(c.peer.handshake(concat({key_update_msg(1), Bytes{4, 0}})));
        expect_fatal(c, Alert::unexpected_message);
    }
}

TEST_CASE("malformed: 33 records in a row without application data", "[record][malformed]") {
    SECTION("empty application data records") {
        Conn c(0x1301);
        for (int i = 0; i < 32; ++i) c.side.feed(c.peer.seal13(23, {}));
        CHECK(read_ok(*c.layer, c.side).empty());  // 32 are tolerated
        c.side.feed(c.peer.seal13(23, {}));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("data resets the count") {
        Conn c(0x1303);
        for (int round = 0; round < 3; ++round) {
            for (int i = 0; i < 32; ++i) c.side.feed(c.peer.seal13(23, {}));
            c.side.feed(c.peer.app("x"));
            CHECK(read_ok(*c.layer, c.side) == bytes_of("x"));
        }
        CHECK(c.layer->stats().records_in == 3 * 33);
    }
    SECTION("KeyUpdates, ignored alerts and empty records count together") {
        Conn c(0x1301);
        for (int i = 0; i < 10; ++i) {
            c.side.feed(c.peer.handshake(key_update_msg(0)));
            c.peer.rotate();
        }
        for (int i = 0; i < 11; ++i) c.side.feed(c.peer.alert(1, Alert::user_canceled));
        for (int i = 0; i < 11; ++i) c.side.feed(c.peer.seal13(23, {}));
        CHECK(read_ok(*c.layer, c.side).empty());
        c.side.feed(c.peer.handshake(key_update_msg(0)));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("TLS 1.2 empty records") {
        Conn c(0xC02B, true, 1, 1);
        for (int i = 0; i < 33; ++i) c.side.feed(c.peer.seal12(23, {}));
        expect_fatal(c, Alert::unexpected_message);
    }
}

TEST_CASE("malformed: post-handshake messages that are not allowed", "[record][malformed]") {
    SECTION("NewSessionTicket sent to a server") {
        Conn c(0x1301);
        c.side.feed(c.peer.handshake(new_session_ticket_msg()));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("CertificateRequest (post-handshake auth was never offered)") {
        Conn c(0x1301, false);
        c.side.feed(c.peer.handshake(Bytes{13, 0, 0, 5, 0, 0, 2, 0, 0}));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("a malformed NewSessionTicket to a client") {
        Conn c(0x1301, false);
        auto nst = new_session_ticket_msg();
        nst[3] -= 1;  // body one byte short of its extensions
        nst.pop_back();
        c.side.feed(c.peer.handshake(nst));
        expect_fatal(c, Alert::decode_error);
    }
    SECTION("a message longer than 64 KiB") {
        Conn c(0x1301, false);
        c.side.feed(c.peer.handshake(Bytes{4, 0x01, 0x00, 0x01, 0}));
        expect_fatal(c, Alert::illegal_parameter);
    }
    SECTION("an empty handshake record") {
        Conn c(0x1301, false);
        c.side.feed(c.peer.seal13(22, {}));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("application data inside a fragmented handshake message") {
        Conn c(0x1301, false);
        auto nst = new_session_ticket_msg();
        c.side.feed(c.peer.handshake(std::span(nst).first(10)));
        c.side.feed(c.peer.app("interleaved"));
        expect_fatal(c, Alert::unexpected_message);
    }
    SECTION("an empty alert record, with or without padding, is unexpected_message") {
        for (size_t padding : {0, 1, 100}) {
            Conn c(0x1301);
            c.side.feed(c.peer.seal13(21, {}, padding));
            expect_fatal(c, Alert::unexpected_message);
        }
        Conn d(0xC02F, true, 1, 1);
        d.side.feed(d.peer.seal12(21, {}));
        expect_fatal(d, Alert::unexpected_message);
    }
    SECTION("an alert record of three bytes") {
        Conn c(0x1301);
        c.side.feed(c.peer.seal13(21, Bytes{1, 0, 0}));
        expect_fatal(c, Alert::decode_error);
    }
}

TEST_CASE("malformed: a truncated record just waits", "[record][malformed]") {
    Conn c(0x1301);
    auto rec = c.peer.app("in two pieces");
    for (size_t cut : {size_t{1}, size_t{4}, size_t{5}, rec.size() - 1}) {
        Conn d(0x1301);
        auto again = d.peer.app("in two pieces");
        d.side.feed(std::span(again).first(cut));
        auto r = d.read();
        CHECK(r.outcome == Outcome::more);
        CHECK(r.app_bytes == 0);
        CHECK(d.side.in.size() == cut);  // nothing consumed
        CHECK(d.layer->read_seq() == 0);
        d.side.feed(std::span(again).subspan(cut));
        CHECK(read_ok(*d.layer, d.side) == bytes_of("in two pieces"));
    }
}

TEST_CASE("malformed: nothing is accepted after a fatal error", "[record][malformed]") {
    Conn c(0x1301);
    auto good = c.peer.app("good");
    auto bad = c.peer.app("bad");
    bad[10] ^= 0xff;
    c.side.feed(concat({good, bad}));
    auto r = c.read();
    CHECK(r.outcome == Outcome::fatal);
    CHECK(r.alert == Alert::bad_record_mac);
    CHECK(r.app_bytes == 4);  // the record before the error was good
    CHECK(c.side.take_plain() == bytes_of("good"));
    c.side.in.consume(c.side.in.size());
    c.side.take_cipher();
    // A valid record (the next sequence number) is not even looked at.
    c.side.feed(c.peer.app("after"));
    for (int i = 0; i < 2; ++i) {
        auto again = c.read();
        CHECK(again.outcome == Outcome::fatal);
        CHECK(again.alert == Alert::bad_record_mac);
        CHECK(again.app_bytes == 0);
    }
    CHECK(c.side.plain.empty());
    CHECK(c.side.cipher.empty());
    CHECK_FALSE(c.layer->seal(bytes_of("no"), c.side.cipher).ok());
    CHECK_FALSE(c.layer->seal_alert(Alert::close_notify, c.side.cipher).ok());
    CHECK(c.side.cipher.empty());
}

TEST_CASE("malformed: close_notify, then more data", "[record][malformed]") {
    for (uint16_t suite : {0x1301, 0xC02B}) {
        Conn c(suite, true, 1, 1);
        c.side.feed(concat(
            {c.peer.app("last words"), c.peer.alert(1, Alert::close_notify), c.peer.app("x")}));
        auto r = c.read();
        CHECK(r.outcome == Outcome::close_notify);
        CHECK(r.app_bytes == 10);
        CHECK(c.side.take_plain() == bytes_of("last words"));
        CHECK_FALSE(c.side.in.empty());  // what follows close_notify is ignored
        CHECK(c.layer->peer_closed());
        CHECK(c.layer->can_write());  // our half is still open
        CHECK(c.side.cipher.empty());
        auto after = c.read();
        CHECK(after.outcome == Outcome::fatal);
        CHECK(after.from_peer);
        CHECK(after.alert == Alert::close_notify);
        CHECK(c.side.plain.empty());
        // We can still send, then close our half.
        REQUIRE(c.layer->seal(bytes_of("reply"), c.side.cipher).ok());
        REQUIRE(c.layer->seal_alert(Alert::close_notify, c.side.cipher).ok());
        transfer(c.side, c.view_side);
        auto vr = c.view->read_records(c.view_side.in, c.view_side.plain, c.view_side.cipher);
        CHECK(vr.outcome == Outcome::close_notify);
        CHECK(c.view_side.take_plain() == bytes_of("reply"));
    }
}

TEST_CASE("malformed: alerts from the peer", "[record][malformed]") {
    SECTION("a fatal alert ends the connection, nothing is sent back") {
        Conn c(0x1301);
        c.side.feed(c.peer.alert(2, Alert::handshake_failure));
        auto r = c.read();
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.from_peer);
        CHECK(r.alert == Alert::handshake_failure);
        CHECK(c.side.cipher.empty());
        CHECK_FALSE(c.layer->can_write());
    }
    SECTION("TLS 1.3: a warning-level error alert is still an error") {
        Conn c(0x1301);
        c.side.feed(c.peer.alert(1, Alert::bad_certificate));
        auto r = c.read();
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.alert == Alert::bad_certificate);
    }
    SECTION("TLS 1.3: warning no_renegotiation is an error too") {
        Conn c(0x1303);
        c.side.feed(c.peer.alert(1, Alert::no_renegotiation));
        CHECK(c.read().outcome == Outcome::fatal);
    }
    SECTION("user_canceled (warning) is ignored, a fatal one is not") {
        Conn c(0x1301);
        c.side.feed(concat({c.peer.alert(1, Alert::user_canceled), c.peer.app("go on")}));
        CHECK(read_ok(*c.layer, c.side) == bytes_of("go on"));
        c.side.feed(c.peer.alert(2, Alert::user_canceled));
        auto r = c.read();
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.alert == Alert::user_canceled);
    }
    SECTION("an unknown alert description is fatal and reported as is") {
        Conn c(0x1301);
        Bytes a{2, 201};
        c.side.feed(c.peer.seal13(21, a));
        auto r = c.read();
        CHECK(r.outcome == Outcome::fatal);
        CHECK(static_cast<uint8_t>(r.alert) == 201);
    }
}
