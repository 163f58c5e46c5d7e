// TLS 1.3 KeyUpdate through the record layer (RFC 8446 4.6.3, 5.3, 7.2):
// the message, exact records after an update, round trips with updates in
// both directions, each update_requested answered.
#include "netproc/key_update.hpp"

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

const char* kRfcClientSecret = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
const char* kRfcServerSecret = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";

}  // namespace

TEST_CASE("KeyUpdate: message parsing", "[record][key_update]") {
    KeyUpdateRequest req{};
    Alert alert{};
    std::string detail;
    CHECK(parse_key_update(Bytes{0}, req, alert, detail));
    CHECK(req == KeyUpdateRequest::update_not_requested);
    CHECK(parse_key_update(Bytes{1}, req, alert, detail));
    CHECK(req == KeyUpdateRequest::update_requested);
    CHECK_FALSE(parse_key_update(Bytes{2}, req, alert, detail));
    CHECK(alert == Alert::illegal_parameter);
    CHECK_FALSE(parse_key_update(Bytes{0, 0}, req, alert, detail));
    CHECK(alert == Alert::decode_error);
    CHECK_FALSE(parse_key_update(Bytes{}, req, alert, detail));
    CHECK(alert == Alert::decode_error);
    CHECK(hex(key_update_message(KeyUpdateRequest::update_requested)) == "1800000101");
}

// Python `cryptography` (the HKDF-Expand-Label of test_traffic_keys.cpp):
//   seal(secret, seq, ctype, data): key/iv = HKDF-Expand-Label(secret, "key"/"iv"),
//     inner = data + ctype, hdr = 17 03 03 len, AESGCM(key).encrypt(iv ^ seq, inner, hdr)
//   client: seal(c0, 1, 22, 1800000100); seal(upd(c0), 0, 23, b"after update")
//   server: seal(s0, 2, 22, 1800000101); seal(upd(s0), 0, 23, b"server after update")
// with upd(s) = HKDF-Expand-Label(s, "traffic upd", "", 32) and c0/s0 the
// RFC 8448 application traffic secrets.
TEST_CASE("KeyUpdate: records after an update match Python, from the RFC 8448 state",
          "[record][key_update]") {
    auto h = make_handoff(0x1301, unhex(kRfcClientSecret), unhex(kRfcServerSecret), 1, 2);
    auto client = make_layer(h, false);
    auto server = make_layer(h, true);
    Side c, s;

    REQUIRE(client->send_key_update(false, c.cipher).ok());
    CHECK(client->write_seq() == 0);
    REQUIRE(client->seal(bytes_of("after update"), c.cipher).ok());
    auto from_client = c.take_cipher();
    CHECK(hex(from_client) ==
          "1703030016d08732885f9c2129f801d9251cb34e0cd6a985b7e26e"
          "170303001d69bdc5e3b1a4b127fc0de65bc6e5460d7ac68cd0e138a3379caed7c374");

    REQUIRE(server->send_key_update(true, s.cipher).ok());
    REQUIRE(server->seal(bytes_of("server after update"), s.cipher).ok());
    auto from_server = s.take_cipher();
    CHECK(hex(from_server) ==
          "1703030016ac8fc3f167838e38271264d995e3204d63fafce32348"
          "170303002404cf762ce0c9f4c45e62984f6ce1d9058daac7cfa1b62b099459f56e85d524778001a8eb");

    // Each side opens the other's, and the client answers the request.
    s.feed(from_client);
    CHECK(read_ok(*server, s) == bytes_of("after update"));
    CHECK(s.cipher.empty());  // update_not_requested needs no answer
    c.feed(from_server);
    CHECK(read_ok(*client, c) == bytes_of("server after update"));
    CHECK(client->stats().key_updates_in == 1);
    CHECK(client->stats().key_updates_out == 2);
    CHECK(client->write_seq() == 0);
    transfer(c, s);
    CHECK(read_ok(*server, s).empty());
    CHECK(server->stats().key_updates_in == 2);
}

TEST_CASE("KeyUpdate: data flows across many updates both ways", "[record][key_update]") {
    for (uint16_t id : {0x1301, 0x1302, 0x1303}) {
        INFO(find_suite(id)->name);
        auto h = fixed_handoff(id, 0, 2);
        auto server = make_layer(h, true);
        auto client = make_layer(h, false);
        Side s, c;
        for (int round = 0; round < 6; ++round) {
            INFO("round " << round);
            bool request = round % 2 == 1;
            // Odd rounds start idle: the AEAD contexts were given back and
            // the keys (and KeyUpdates across the gap) must still hold.
            if (request) {
                server->release_idle_memory();
                client->release_idle_memory();
            }
            // Server rotates (asking the client to rotate on odd rounds).
            REQUIRE(server->send_key_update(request, s.cipher).ok());
            auto big = pattern(17000, static_cast<uint8_t>(round));
            REQUIRE(server->seal(big, s.cipher).ok());  // two records
            transfer(s, c);
            CHECK(read_ok(*client, c) == big);
            // An answer is in the client's output only when asked for.
            auto answer = c.take_cipher();
            CHECK(count_records(answer) == (request ? 1u : 0u));
            s.feed(answer);
            CHECK(read_ok(*server, s).empty());

            // Client rotates on its own, sends data.
            REQUIRE(client->send_key_update(!request, c.cipher).ok());
            REQUIRE(client->seal(bytes_of("client data"), c.cipher).ok());
            transfer(c, s);
            CHECK(read_ok(*server, s) == bytes_of("client data"));
            answer = s.take_cipher();
            CHECK(count_records(answer) == (!request ? 1u : 0u));
            c.feed(answer);
            CHECK(read_ok(*client, c).empty());
        }
        CHECK(server->stats().key_updates_out == 6 + 3);
        CHECK(client->stats().key_updates_in == 6 + 3);
        CHECK(client->stats().key_updates_out == 6 + 3);
        CHECK(server->stats().key_updates_in == 6 + 3);
    }
}

TEST_CASE("KeyUpdate: each update_requested is answered, as OpenSSL does", "[record][key_update]") {
    auto h = fixed_handoff(0x1301);
    auto server = make_layer(h, true);
    auto client = make_layer(h, false);
    Side s, c;
    REQUIRE(server->send_key_update(true, s.cipher).ok());
    REQUIRE(server->send_key_update(true, s.cipher).ok());
    REQUIRE(server->send_key_update(true, s.cipher).ok());
    transfer(s, c);
    CHECK(read_ok(*client, c).empty());
    CHECK(client->stats().key_updates_in == 3);
    auto answer = c.take_cipher();
    CHECK(count_records(answer) == 3);
    CHECK(client->stats().key_updates_out == 3);
    s.feed(answer);
    CHECK(read_ok(*server, s).empty());
    CHECK(server->stats().key_updates_in == 3);

    // Data both ways under the keys all of that left.
    REQUIRE(client->seal(bytes_of("x"), c.cipher).ok());
    transfer(c, s);
    CHECK(read_ok(*server, s) == bytes_of("x"));
    REQUIRE(server->seal(bytes_of("y"), s.cipher).ok());
    transfer(s, c);
    CHECK(read_ok(*client, c) == bytes_of("y"));
}

// A client that sends 32 KeyUpdates back to back, asking each time, then
// its request (a conformance suite's "multiple KeyUpdate messages"): all 32
// are answered before the response, as OpenSSL answers them; a 33rd in the
// same run is the flood the run cap stops (BoringSSL's kMaxKeyUpdates).
TEST_CASE("KeyUpdate: 32 pipelined requests are answered 32 times, a 33rd is refused",
          "[record][key_update]") {
    for (uint16_t suite : {0x1301, 0x1302, 0x1303}) {
        auto h = fixed_handoff(suite);
        for (int n : {32, 33}) {
            auto server = make_layer(h, true);
            PeerSealer peer(h, false);
            Side s;
            Bytes wire;
            for (int i = 0; i < n; ++i) {
                auto rec = peer.handshake(key_update_msg(1));
                wire.insert(wire.end(), rec.begin(), rec.end());
                peer.rotate();
            }
            auto data = peer.app("GET / HTTP/1.0\r\n\r\n");
            wire.insert(wire.end(), data.begin(), data.end());
            s.feed(wire);
            auto r = server->read_records(s.in, s.plain, s.cipher);
            INFO("suite " << suite << ", " << n << " KeyUpdates: " << r.detail);
            if (n == 32) {
                REQUIRE(r.outcome == RecordLayer::ReadOutcome::more);
                CHECK(s.take_plain() == bytes_of("GET / HTTP/1.0\r\n\r\n"));
                CHECK(server->stats().key_updates_in == 32);
                CHECK(server->stats().key_updates_out == 32);
                CHECK(count_records(s.take_cipher()) == 32);
            } else {
                CHECK(r.outcome == RecordLayer::ReadOutcome::fatal);
                CHECK(r.alert == Alert::unexpected_message);
                CHECK(server->stats().key_updates_in == 32);
                CHECK(s.take_plain().empty());
            }
        }
    }
}

TEST_CASE("KeyUpdate: after our close_notify a request rotates the read key only",
          "[record][key_update]") {
    auto h = fixed_handoff(0x1303);
    auto server = make_layer(h, true);
    auto client = make_layer(h, false);
    Side s, c;
    REQUIRE(client->seal_alert(Alert::close_notify, c.cipher).ok());
    CHECK_FALSE(client->can_write());
    CHECK_FALSE(client->send_key_update(false, c.cipher).ok());
    c.take_cipher();
    REQUIRE(server->send_key_update(true, s.cipher).ok());
    REQUIRE(server->seal(bytes_of("still talking"), s.cipher).ok());
    transfer(s, c);
    CHECK(read_ok(*client, c) == bytes_of("still talking"));
    CHECK(c.cipher.empty());
}

TEST_CASE("KeyUpdate: a KeyUpdate split across two records is reassembled",
          "[record][key_update]") {
    auto h = fixed_handoff(0x1301);
    auto server = make_layer(h, true);
    PeerSealer peer(h, false);
    Side s;
    auto ku = key_update_msg(1);
    s.feed(peer.handshake(std::span(ku).first(2)));
    s.feed(peer.handshake(std::span(ku).subspan(2)));
    peer.rotate();
    s.feed(peer.app("under the new key"));
    CHECK(read_ok(*server, s) == bytes_of("under the new key"));
    CHECK(server->stats().key_updates_in == 1);
    CHECK(server->stats().key_updates_out == 1);  // the request was answered
}
