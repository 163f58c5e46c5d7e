// Record layer limits: AEAD usage limits (RFC 8446 5.5), sequence number
// exhaustion, backpressure into plain_out, and hand-off validation.
#include <limits>

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {
constexpr uint64_t kGcmSoft = 1ULL << 24;
constexpr uint64_t kGcmHard = 23726566;  // 2^24.5
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
}  // namespace

// The hand-off's sequence number counts the records already sent under the
// key, so a layer can start right at a limit.
TEST_CASE("limits: AES-GCM write key exhausted at 2^24 records, KeyUpdate resets it",
          "[record][limits]") {
    auto server = make_layer(fixed_handoff(0x1301, 0, kGcmSoft - 1), true);
    Side s;
    CHECK_FALSE(server->write_key_exhausted());
    REQUIRE(server->seal(bytes_of("a"), s.cipher).ok());
    CHECK(server->write_key_exhausted());
    CHECK(server->records_under_write_key() == kGcmSoft);
    REQUIRE(server->seal(bytes_of("b"), s.cipher).ok());  // soft: still allowed
    REQUIRE(server->send_key_update(false, s.cipher).ok());
    CHECK_FALSE(server->write_key_exhausted());
    CHECK(server->records_under_write_key() == 0);
    CHECK(server->write_seq() == 0);
}

TEST_CASE("limits: nothing is sealed past 2^24.5 AES-GCM records", "[record][limits]") {
    SECTION("TLS 1.3: data refused near the limit, a KeyUpdate still fits") {
        auto h = fixed_handoff(0x1302, 0, kGcmHard - 4);
        auto server = make_layer(h, true);
        auto client = make_layer(h, false);
        Side s, c;
        CHECK_FALSE(server->seal(bytes_of("refused"), s.cipher).ok());
        CHECK(s.cipher.empty());
        CHECK(server->can_write());  // not fatal: rotate and go on
        REQUIRE(server->send_key_update(false, s.cipher).ok());
        REQUIRE(server->seal(bytes_of("accepted"), s.cipher).ok());
        transfer(s, c);
        CHECK(read_ok(*client, c) == bytes_of("accepted"));
    }
    SECTION("TLS 1.2: data refused, close_notify still goes out") {
        auto server = make_layer(fixed_handoff(0xC02B, 1, kGcmHard - 4), true);
        Side s;
        CHECK(server->write_key_exhausted());
        CHECK_FALSE(server->seal(bytes_of("refused"), s.cipher).ok());
        REQUIRE(server->seal_alert(Alert::close_notify, s.cipher).ok());
    }
    SECTION("the limit is checked for a whole multi-record seal up front") {
        auto h = fixed_handoff(0x1301, 0, kGcmHard - 6);
        h.max_plaintext = 1024;
        auto server = make_layer(h, true);
        Side s;
        CHECK_FALSE(server->seal(pattern(3 * 1024), s.cipher).ok());
        CHECK(s.cipher.empty());
        REQUIRE(server->seal(pattern(2 * 1024), s.cipher).ok());
    }
}

TEST_CASE("limits: ChaCha20 has no practical limit, but a sequence number is never reused",
          "[record][limits]") {
    auto h = fixed_handoff(0xCCA9, 1, 1);
    auto server = make_layer(h, true);
    server->set_sequence_numbers_for_test(1, kMax - 2);
    Side s;
    CHECK(server->write_key_exhausted());  // seq within 4 of the end
    REQUIRE(server->seal(bytes_of("second to last"), s.cipher).ok());
    REQUIRE(server->seal(bytes_of("last"), s.cipher).ok());
    CHECK(server->write_seq() == kMax);
    auto st = server->seal(bytes_of("would reuse"), s.cipher);
    CHECK_FALSE(st.ok());
    CHECK_FALSE(server->can_write());
    // A fatal error: reading is over too.
    auto r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::fatal);
    CHECK(r.alert == Alert::internal_error);

    auto chacha13 = make_layer(fixed_handoff(0x1303, 0, kGcmHard + 10), true);
    CHECK_FALSE(chacha13->write_key_exhausted());
    REQUIRE(chacha13->seal(bytes_of("fine"), s.cipher).ok());
}

TEST_CASE("limits: records wait while plain_out lacks room (backpressure)", "[record][limits]") {
    auto h = fixed_handoff(0x1301);
    auto server = make_layer(h, true);
    PeerSealer peer(h, false);
    Side s;
    auto big = pattern(16384, 1);
    s.feed(peer.seal13(23, big));
    s.feed(peer.seal13(23, {}));  // empty records need no room
    // Leave less than a record's worth of room in plain_out.
    REQUIRE(s.plain.append(pattern(kBlock - 16000)));
    auto r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::more);
    CHECK(r.app_bytes == 0);
    CHECK(s.in.size() == 5 + 16384 + 1 + 16 + 5 + 1 + 16);  // nothing consumed
    s.plain.consume(s.plain.size());
    r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::more);
    CHECK(r.app_bytes == big.size());
    CHECK(s.in.empty());
    CHECK(s.take_plain() == big);

    // A small record fits into the remaining room even when a full one would not.
    REQUIRE(s.plain.append(pattern(kBlock - 200)));
    s.feed(peer.app("small"));
    r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.app_bytes == 5);
}

TEST_CASE("limits: no room for control records in cipher_out stops reading", "[record][limits]") {
    auto h = fixed_handoff(0x1301);
    auto server = make_layer(h, true);
    PeerSealer peer(h, false);
    Side s;
    REQUIRE(s.cipher.append(pattern(kBlock - 10)));
    s.feed(peer.app("waits"));
    auto r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::more);
    CHECK(r.app_bytes == 0);
    s.cipher.consume(s.cipher.size());
    CHECK(read_ok(*server, s) == bytes_of("waits"));
}

TEST_CASE("limits: hand-offs that do not fit are refused", "[record][limits]") {
    auto h = fixed_handoff(0x1301);
    h.cipher_suite = 0x1304;  // TLS_AES_128_CCM_SHA256: not ours
    CHECK_FALSE(RecordLayer::create(h, true).ok());
    auto v = fixed_handoff(0x1301);
    v.tls_version = kTls12;
    CHECK_FALSE(RecordLayer::create(v, true).ok());
    auto short_secret = make_handoff(0x1302, Bytes(32, 1), Bytes(48, 2));
    CHECK_FALSE(RecordLayer::create(short_secret, true).ok());
    auto seq = fixed_handoff(0x1301, kMax, 0);
    CHECK_FALSE(RecordLayer::create(seq, true).ok());
    // The same bound as the channel's decoder (ipc/handoff.hpp), both ways.
    CHECK(RecordLayer::create(fixed_handoff(0x1301, ipc::kMaxHandoffSeq, 0), true).ok());
    CHECK_FALSE(RecordLayer::create(fixed_handoff(0x1301, ipc::kMaxHandoffSeq + 1, 0), true).ok());
    CHECK_FALSE(RecordLayer::create(fixed_handoff(0x1301, 0, ipc::kMaxHandoffSeq + 1), true).ok());
    auto mfl = fixed_handoff(0x1301);
    mfl.max_plaintext = 100;
    CHECK_FALSE(RecordLayer::create(mfl, true).ok());
    CHECK(RecordLayer::prefetch_algorithms().ok());
}

TEST_CASE("limits: a negotiated max_fragment_length applies both ways", "[record][limits]") {
    auto h = fixed_handoff(0x1301);
    h.max_plaintext = 1024;
    auto server = make_layer(h, true);
    PeerSealer peer(h, false);
    Side s;
    CHECK(server->max_plaintext() == 1024);
    REQUIRE(server->seal(pattern(2500), s.cipher).ok());
    auto out = s.take_cipher();
    CHECK(out.size() == 2500 + 3 * server->overhead());  // three records
    CHECK_FALSE(server->seal_in_place(s.cipher, 1025).ok());
    s.feed(peer.seal13(23, pattern(1025)));
    auto r = server->read_records(s.in, s.plain, s.cipher);
    CHECK(r.outcome == Outcome::fatal);
    CHECK(r.alert == Alert::record_overflow);
}
