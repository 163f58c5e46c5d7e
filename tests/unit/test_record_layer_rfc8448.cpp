// The record layer against RFC 8448 section 3 ("Simple 1-RTT Handshake"):
// the records after the handshake, byte for byte, in both roles.
//
// The server sent its NewSessionTicket at server seq 0, so its application
// data record is seq 1 and its close_notify seq 2; the client's application
// data is client seq 0 and its close_notify seq 1. Both application data
// records carry the 50 bytes 00 01 ... 31.
#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

const char* kClientSecret =
    "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 "
    "87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";
const char* kServerSecret =
    "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 "
    "82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";

// {server} send handshake record (NewSessionTicket), payload 205 octets.
const char* kServerTicketRecord = R"(
    17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95
    d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88
    91 a3 8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0
    3f 75 e0 9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5
    e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f
    69 23 2c 86 51 9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49
    fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b
    6c 67 79 b3 7b f1 59 85 68 4f)";
// {client} send application_data record, complete record (72 octets).
const char* kClientAppRecord = R"(
    17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab
    3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d
    ea e6 3a ee bb 21 69 49 15 e4)";
// {server} send application_data record, complete record (72 octets).
const char* kServerAppRecord = R"(
    17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b
    36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3
    32 54 0d d0 32 e1 67 c2 95 5d)";
// {client} / {server} send alert record (close_notify), 24 octets each.
const char* kClientAlertRecord =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
const char* kServerAlertRecord =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

Bytes app_payload() {
    Bytes b;
    for (uint8_t i = 0; i < 50; ++i) b.push_back(i);
    return b;
}

ipc::HandshakeDone rfc_handoff(uint64_t client_seq, uint64_t server_seq) {
    return make_handoff(0x1301, unhex(kClientSecret), unhex(kServerSecret), client_seq, server_seq);
}

}  // namespace

TEST_CASE("RFC 8448: the server's records are sealed byte for byte", "[record][rfc8448]") {
    auto server = make_layer(rfc_handoff(0, 1), true);  // the ticket used server seq 0
    Side s;
    REQUIRE(server->seal(app_payload(), s.cipher).ok());
    CHECK(hex(s.take_cipher()) == hex(unhex(kServerAppRecord)));
    REQUIRE(server->seal_alert(Alert::close_notify, s.cipher).ok());
    CHECK(hex(s.take_cipher()) == hex(unhex(kServerAlertRecord)));
    CHECK_FALSE(server->can_write());
    CHECK(server->write_seq() == 3);
    CHECK(server->stats().records_out == 2);
}

TEST_CASE("RFC 8448: the client's records are sealed byte for byte", "[record][rfc8448]") {
    auto client = make_layer(rfc_handoff(0, 0), false);
    Side c;
    // In place: the plaintext goes after prefix_len() bytes of room.
    auto payload = app_payload();
    REQUIRE(client->prefix_len() == 5);
    REQUIRE(client->overhead() == 5 + 1 + 16);
    auto w = c.cipher.writable(payload.size() + client->overhead());
    REQUIRE(w.size() >= payload.size() + client->overhead());
    std::copy(payload.begin(), payload.end(), w.begin() + 5);
    REQUIRE(client->seal_in_place(c.cipher, payload.size()).ok());
    CHECK(hex(c.take_cipher()) == hex(unhex(kClientAppRecord)));
    REQUIRE(client->seal_alert(Alert::close_notify, c.cipher).ok());
    CHECK(hex(c.take_cipher()) == hex(unhex(kClientAlertRecord)));
}

TEST_CASE("RFC 8448: the server opens the client's records", "[record][rfc8448]") {
    auto server = make_layer(rfc_handoff(0, 1), true);
    Side s;
    s.feed(concat({unhex(kClientAppRecord), unhex(kClientAlertRecord)}));
    auto r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::close_notify);
    CHECK(r.app_bytes == 50);
    CHECK(s.take_plain() == app_payload());
    CHECK(s.in.empty());
    CHECK(s.cipher.empty());  // nothing to answer
    CHECK(server->peer_closed());
    CHECK(server->can_write());  // half-close: our side is still open
    CHECK(server->read_seq() == 2);
}

TEST_CASE("RFC 8448: the client ignores the ticket and opens the server's records",
          "[record][rfc8448]") {
    auto client = make_layer(rfc_handoff(0, 0), false);
    Side c;
    auto all =
        concat({unhex(kServerTicketRecord), unhex(kServerAppRecord), unhex(kServerAlertRecord)});
    // Arrives in three uneven pieces: incomplete records just wait.
    c.feed(std::span(all).first(100));
    auto r = client->read_records(c.in, c.plain, c.cipher);
    CHECK(r.outcome == Outcome::more);
    CHECK(r.app_bytes == 0);
    CHECK(c.in.size() == 100);
    c.feed(std::span(all).subspan(100, 200));
    r = client->read_records(c.in, c.plain, c.cipher);
    CHECK(r.outcome == Outcome::more);
    CHECK(r.app_bytes == 50);
    c.feed(std::span(all).subspan(300));
    r = client->read_records(c.in, c.plain, c.cipher);
    CHECK(r.outcome == Outcome::close_notify);
    CHECK(c.take_plain() == app_payload());
    CHECK(client->stats().records_in == 3);
    CHECK(client->read_seq() == 3);
    CHECK(c.cipher.empty());
}
