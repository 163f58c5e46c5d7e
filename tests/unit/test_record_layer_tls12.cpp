// The record layer with TLS 1.2 AEAD records (RFC 5246 6.2.3.3, RFC 5288,
// RFC 7905): exact bytes, both roles, renegotiation refused.
//
// Expected records computed independently with Python's `cryptography`
// package:
//
//   def rec(kind, key, iv, seq, ctype, data):
//       aad = struct.pack(">Q", seq) + bytes([ctype]) + b"\x03\x03" + struct.pack(">H", len(data))
//       if kind == "chacha":
//           nonce = bytes(a ^ b for a, b in zip(iv, b"\0" * 4 + struct.pack(">Q", seq)))
//           body = ChaCha20Poly1305(key).encrypt(nonce, data, aad)
//       else:
//           explicit = struct.pack(">Q", seq)
//           body = explicit + AESGCM(key).encrypt(iv + explicit, data, aad)
//       return bytes([ctype]) + b"\x03\x03" + struct.pack(">H", len(body)) + body
//
//   AES-128-GCM:  client key 00..0f salt a0a1a2a3, server key 10..1f salt b0b1b2b3
//   AES-256-GCM:  client key 60..7f salt c0c1c2c3, server key 80..9f salt d0d1d2d3
//   ChaCha20:     client key 20..3f iv c0..cb,     server key 40..5f iv d0..db
//   (key bytes are consecutive: bytes(range(0x10, 0x20)) and so on)
#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

Bytes range(uint8_t from, uint8_t to) {
    Bytes b;
    for (unsigned i = from; i < to; ++i) b.push_back(static_cast<uint8_t>(i));
    return b;
}

struct Vector {
    uint16_t suite;
    Bytes client_secret;  // write key || write IV
    Bytes server_secret;
    std::string server_text;
    const char* server_seq1;  // record of server_text at server seq 1
    const char* client_seq1;  // record of "from the client" at client seq 1
};

std::vector<Vector> vectors() {
    return {
        {0xC02B, concat({range(0x00, 0x10), unhex("a0a1a2a3")}),
         concat({range(0x10, 0x20), unhex("b0b1b2b3")}), "tlsward TLS 1.2 AES-128-GCM record",
         "170303003a00000000000000012c3bcce9f291b8839ebd5bbd3636b121b75397"
         "201fb3d60fd7882430327cabe941bf5de5a4e1476538d5fbc9918c24d3bff4",
         "170303002700000000000000012003739f4cf01f35a70f2a7ebe6ae0d20af623"
         "276b51d88183e31e1e59f2e7"},
        {0xC02C, concat({range(0x60, 0x80), unhex("c0c1c2c3")}),
         concat({range(0x80, 0xa0), unhex("d0d1d2d3")}), "tlsward TLS 1.2 AES-256-GCM record",
         "170303003a0000000000000001bee9d8b053fe4a30972c5c497b9d857ce6bd01"
         "e43f80a0e3670f5382365c524e3827b3b3d1682df008f4d926724145836316",
         "17030300270000000000000001b3aeaa4af00aa2679a3ee57f154a54878eb426"
         "262c05acf756fc46e9bf1864"},
        {0xCCA9, concat({range(0x20, 0x40), range(0xc0, 0xcc)}),
         concat({range(0x40, 0x60), range(0xd0, 0xdc)}), "tlsward TLS 1.2 ChaCha20-Poly1305 record",
         "1703030038cbd15072ef3e34f723a3520c02d0e2451b5a23a54d3f277865b6fd"
         "bc201a7ac1ea45c69c3117144a0616e0cdb8efaaf1cf1cbb8c1d4380e1",
         "170303001f05c4154b80f6e76c0ef0cae500a3a387033f8dca1fc2c33e2562b8"
         "3f5da90a"},
    };
}

}  // namespace

TEST_CASE("TLS 1.2: records match the Python vectors in both roles", "[record][tls12]") {
    for (const auto& v : vectors()) {
        const SuiteInfo* suite = find_suite(v.suite);
        INFO(suite->name);
        auto h = make_handoff(v.suite, v.client_secret, v.server_secret, 1, 1);
        auto server = make_layer(h, true);
        auto client = make_layer(h, false);
        Side s, c;
        bool gcm = suite->aead != Aead::chacha20_poly1305;
        CHECK(server->prefix_len() == (gcm ? 13u : 5u));
        CHECK(server->overhead() == (gcm ? 29u : 21u));

        REQUIRE(server->seal(bytes_of(v.server_text), s.cipher).ok());
        auto rec = s.take_cipher();
        CHECK(hex(rec) == v.server_seq1);
        REQUIRE(client->seal(bytes_of("from the client"), c.cipher).ok());
        auto crec = c.take_cipher();
        CHECK(hex(crec) == v.client_seq1);

        c.feed(rec);
        CHECK(read_ok(*client, c) == bytes_of(v.server_text));
        s.feed(crec);
        CHECK(read_ok(*server, s) == bytes_of("from the client"));
        CHECK(server->read_seq() == 2);
        CHECK(server->write_seq() == 2);
        CHECK_FALSE(server->send_key_update(false, s.cipher).ok());  // TLS 1.2 has none
    }
}

TEST_CASE("TLS 1.2: AES-128-GCM second record and alert match Python", "[record][tls12]") {
    const auto v = vectors()[0];
    auto server = make_layer(make_handoff(v.suite, v.client_secret, v.server_secret, 1, 2), true);
    Side s;
    // seal_in_place: plaintext after prefix_len(); the layer writes the
    // header and the explicit nonce (= seq) in front of it.
    auto text = bytes_of("second");
    auto w = s.cipher.writable(text.size() + server->overhead());
    std::copy(text.begin(), text.end(), w.begin() + static_cast<long>(server->prefix_len()));
    REQUIRE(server->seal_in_place(s.cipher, text.size()).ok());
    CHECK(hex(s.take_cipher()) ==
          "170303001e00000000000000020a5b7dda6e38d499901efa0e2f3cd4fa10566bab4b6a");
    REQUIRE(server->seal_alert(Alert::close_notify, s.cipher).ok());
    CHECK(hex(s.take_cipher()) == "150303001a00000000000000035f7e60064486169c7e752713e8c47b9d5977");
}

TEST_CASE("TLS 1.2: ChaCha20 second record matches Python", "[record][tls12]") {
    const auto v = vectors()[2];
    auto server = make_layer(make_handoff(v.suite, v.client_secret, v.server_secret, 1, 2), true);
    Side s;
    REQUIRE(server->seal(bytes_of("second"), s.cipher).ok());
    CHECK(hex(s.take_cipher()) == "1703030016c4e664e352b753c757c882d159967261bf218d9329a1");
}

TEST_CASE("TLS 1.2: the explicit nonce is taken from the record", "[record][tls12]") {
    // RFC 5288 lets the sender choose the explicit nonce (OpenSSL's kTLS
    // path starts at a random value). Python, as above, with the server
    // key at seq 1 but explicit = deadbeef00000042:
    //   body = explicit + AESGCM(sk).encrypt(ss + explicit, data, aad)
    const auto v = vectors()[0];
    auto h = make_handoff(v.suite, v.client_secret, v.server_secret, 1, 1);
    auto client = make_layer(h, false);
    Side c;
    auto rec = unhex(
        "170303002ddeadbeef00000042e6c3124173e3816c79d5fb5272b5a3b9f67840beaba243df5f40bdd9bb894d"
        "29e16056265c");
    c.feed(rec);
    CHECK(read_ok(*client, c) == bytes_of("random explicit nonce"));
    // The explicit part is not in the AAD, only in the nonce: changing it
    // must break the tag (proof that it is used).
    auto other = make_layer(h, false);
    Side c2;
    rec[5] ^= 0x40;
    c2.feed(rec);
    auto r = other->read_records(c2.in, c2.plain, c2.cipher);
    CHECK(r.outcome == Outcome::fatal);
    CHECK(r.alert == Alert::bad_record_mac);
}

TEST_CASE("TLS 1.2: a renegotiating ClientHello gets a warning no_renegotiation",
          "[record][tls12]") {
    auto h = fixed_handoff(0xC02F, 1, 1);
    auto server = make_layer(h, true);
    auto client_view = make_layer(h, false);  // reads what the server sends
    PeerSealer peer(h, false);
    Side s, c;
    Bytes client_hello = {1, 0, 0, 6, 3, 3, 9, 9, 9, 9};  // content never parsed
    s.feed(concat({peer.handshake(client_hello), peer.app("still here")}));
    auto r = server->read_records(s.in, s.plain, s.cipher);
    REQUIRE(r.outcome == Outcome::more);
    CHECK(s.take_plain() == bytes_of("still here"));
    // The reply is one warning alert, which the peer's view reads as
    // ignorable in TLS 1.2 (and so does not end the connection).
    auto reply = s.take_cipher();
    CHECK(reply.size() == 5 + 8 + 2 + 16);
    CHECK(reply[0] == 21);
    c.feed(reply);
    CHECK(read_ok(*client_view, c).empty());
    CHECK(server->can_write());
}

TEST_CASE("TLS 1.2: a HelloRequest to a client is refused, other messages are fatal",
          "[record][tls12]") {
    auto h = fixed_handoff(0xCCA8, 1, 1);
    SECTION("HelloRequest to the client") {
        auto client = make_layer(h, false);
        PeerSealer server_peer(h, true);
        Side c;
        c.feed(server_peer.handshake(Bytes{0, 0, 0, 0}));
        CHECK(read_ok(*client, c).empty());
        CHECK(c.take_cipher().size() == 5 + 2 + 16);
    }
    SECTION("HelloRequest to the server") {
        auto server = make_layer(h, true);
        PeerSealer client_peer(h, false);
        Side s;
        s.feed(client_peer.handshake(Bytes{0, 0, 0, 0}));
        auto r = server->read_records(s.in, s.plain, s.cipher);
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.alert == Alert::unexpected_message);
    }
    SECTION("ClientHello to the client") {
        auto client = make_layer(h, false);
        PeerSealer server_peer(h, true);
        Side c;
        c.feed(server_peer.handshake(Bytes{1, 0, 0, 1, 0}));
        auto r = client->read_records(c.in, c.plain, c.cipher);
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.alert == Alert::unexpected_message);
    }
    SECTION("a KeyUpdate is not a TLS 1.2 message") {
        auto server = make_layer(h, true);
        PeerSealer client_peer(h, false);
        Side s;
        s.feed(client_peer.handshake(key_update_msg(0)));
        auto r = server->read_records(s.in, s.plain, s.cipher);
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.alert == Alert::unexpected_message);
    }
}

TEST_CASE("TLS 1.2: warning alerts", "[record][tls12]") {
    auto h = fixed_handoff(0xC030, 1, 1);
    auto server = make_layer(h, true);
    PeerSealer peer(h, false);
    Side s;
    s.feed(concat({peer.alert(1, Alert::user_canceled), peer.alert(1, Alert::no_renegotiation),
                   peer.app("data")}));
    CHECK(read_ok(*server, s) == bytes_of("data"));
    // Any other warning ends the connection (our documented choice).
    s.feed(peer.alert(1, Alert::certificate_expired));
    auto r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::fatal);
    CHECK(r.from_peer);
    CHECK(r.alert == Alert::certificate_expired);
    CHECK(s.cipher.empty());  // nothing is sent back to a peer's alert
    CHECK_FALSE(server->can_write());
}
