// Post-handshake messages (netproc/post_handshake): reassembly across
// records, tickets ignored by a client, the buffer held only while needed.
#include "netproc/post_handshake.hpp"

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;
using Step = HandshakeReassembler::Step;

TEST_CASE("post-handshake: the reassembler holds a buffer only while a message is partial",
          "[record][post_handshake]") {
    PostHandshakeRules client13{kTls13, false};
    HandshakeReassembler hs;
    auto nst = new_session_ticket_msg(300);
    auto ku = key_update_msg(1);
    uint8_t type = 0;
    std::span<const uint8_t> body;
    PostHandshakeError e;

    // Two whole messages in one record: handed out in place, no buffer.
    auto both = concat({nst, ku});
    hs.start_record(both);
    REQUIRE(hs.next(client13, type, body, e) == Step::message);
    CHECK(type == 4);
    CHECK(body.size() == nst.size() - 4);
    CHECK_FALSE(hs.holds_buffer());
    REQUIRE(hs.next(client13, type, body, e) == Step::message);
    CHECK(type == 24);
    CHECK(hex(body) == "01");
    CHECK(hs.next(client13, type, body, e) == Step::record_done);
    CHECK_FALSE(hs.partial());

    // A ticket in three pieces, the first cut inside the header.
    auto p1 = std::span(nst).first(2);
    auto p2 = std::span(nst).subspan(2, 100);
    auto p3 = std::span(nst).subspan(102);
    hs.start_record(p1);
    CHECK(hs.next(client13, type, body, e) == Step::record_done);
    CHECK(hs.partial());
    hs.start_record(p2);
    CHECK(hs.next(client13, type, body, e) == Step::record_done);
    CHECK(hs.holds_buffer());
    hs.start_record(p3);
    REQUIRE(hs.next(client13, type, body, e) == Step::message);
    CHECK(type == 4);
    CHECK(Bytes(body.begin(), body.end()) == Bytes(nst.begin() + 4, nst.end()));
    CHECK(hs.next(client13, type, body, e) == Step::record_done);
    CHECK_FALSE(hs.holds_buffer());  // released once handed out
    CHECK_FALSE(hs.partial());

    // An unwanted message fails on its header, before its body is buffered.
    auto cr = Bytes{13, 0, 0x10, 0, 0};
    hs.start_record(cr);
    CHECK(hs.next(client13, type, body, e) == Step::error);
    CHECK(e.alert == Alert::unexpected_message);
    CHECK_FALSE(hs.holds_buffer());
}

TEST_CASE("post-handshake: a client ignores tickets split across records",
          "[record][post_handshake]") {
    auto h = fixed_handoff(0x1302);
    auto client = make_layer(h, false);
    PeerSealer server(h, true);
    Side c;
    auto nst = new_session_ticket_msg(1000);
    auto two = concat({nst, new_session_ticket_msg(20)});
    // OpenSSL sends its tickets before any data; here one is split in three.
    c.feed(server.handshake(std::span(two).first(7)));
    c.feed(server.handshake(std::span(two).subspan(7, 500)));
    c.feed(server.handshake(std::span(two).subspan(507)));
    c.feed(server.app("data after tickets"));
    CHECK(read_ok(*client, c) == bytes_of("data after tickets"));
    CHECK(c.cipher.empty());
    CHECK(client->read_seq() == 4);
}

TEST_CASE("post-handshake: a KeyUpdate one byte per record", "[record][post_handshake]") {
    auto h = fixed_handoff(0x1301);
    auto server = make_layer(h, true);
    PeerSealer client(h, false);
    Side s;
    auto ku = key_update_msg(0);
    for (uint8_t b : ku) s.feed(client.handshake(Bytes{b}));
    client.rotate();
    s.feed(client.app("new key"));
    CHECK(read_ok(*server, s) == bytes_of("new key"));
    CHECK(server->stats().key_updates_in == 1);
}

TEST_CASE("post-handshake: TLS 1.2 renegotiation attempt split across records",
          "[record][post_handshake]") {
    auto h = fixed_handoff(0xC02B, 1, 1);
    auto server = make_layer(h, true);
    PeerSealer client(h, false);
    Side s;
    Bytes ch = {1, 0, 0, 200};
    ch.resize(204, 0x42);
    s.feed(client.handshake(std::span(ch).first(50)));
    s.feed(client.handshake(std::span(ch).subspan(50)));
    s.feed(client.app("after"));
    CHECK(read_ok(*server, s) == bytes_of("after"));
    CHECK(s.take_cipher().size() == 5 + 8 + 2 + 16);  // one warning alert
}
