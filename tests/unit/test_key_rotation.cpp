// Key rotation: the policy as a pure function of what went under each key
// and the clock (key_rotation.hpp), then wired into the record pump over
// socketpairs (record_pump_rig.hpp): a KeyUpdate the peer can follow, the
// peer asked in the same message, and TLS 1.2 closing at its limit.
#include "netproc/key_rotation.hpp"

#include "record_pump_rig.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

constexpr uint64_t kT0 = 50000;

KeyUsage usage(uint64_t out_bytes, uint64_t in_bytes, uint64_t since = kT0) {
    KeyUsage u;
    u.start(since);
    u.out_bytes = out_bytes;
    u.in_bytes = in_bytes;
    return u;
}

Rotation due13(const RotationPolicy& p, const KeyUsage& u, uint64_t now = kT0) {
    return rotation_due(p, u, now, /*tls13=*/true, /*write_key_exhausted=*/false);
}

}  // namespace

TEST_CASE("key rotation: by volume", "[key_rotation]") {
    RotationPolicy p{1000, 0};
    CHECK(due13(p, usage(0, 0)) == Rotation::none);
    CHECK(due13(p, usage(999, 0)) == Rotation::none);
    CHECK(due13(p, usage(1000, 0)) == Rotation::update);
    CHECK(due13(p, usage(5000, 0)) == Rotation::update);
    // The peer's key by volume: our KeyUpdate asks it to rotate (ours
    // rotates with it).
    CHECK(due13(p, usage(0, 999)) == Rotation::none);
    CHECK(due13(p, usage(0, 1000)) == Rotation::update_and_request);
    // Off: never by volume.
    CHECK(due13(RotationPolicy{0, 0}, usage(1ULL << 40, 1ULL << 40)) == Rotation::none);
}

TEST_CASE("key rotation: by age", "[key_rotation]") {
    RotationPolicy p{0, 60000};
    CHECK(due13(p, usage(1, 0), kT0 + 59999) == Rotation::none);
    CHECK(due13(p, usage(1, 0), kT0 + 60000) == Rotation::update);
    CHECK(due13(p, usage(0, 1), kT0 + 60000) == Rotation::update_and_request);
    // A key nothing went under is never due: an idle connection sends no
    // KeyUpdates however old its keys are.
    CHECK(due13(p, usage(0, 0), kT0 + 3600000) == Rotation::none);
}

TEST_CASE("key rotation: at write_key_exhausted, whatever the settings", "[key_rotation]") {
    for (RotationPolicy p : {RotationPolicy{0, 0}, RotationPolicy{1ULL << 40, 3600000}}) {
        CHECK(rotation_due(p, usage(0, 0), kT0, true, true) == Rotation::update);
        CHECK(rotation_due(p, usage(0, 0), kT0, true, false) == Rotation::none);
    }
}

TEST_CASE("key rotation: the peer's key half-way is asked in the same KeyUpdate",
          "[key_rotation]") {
    RotationPolicy bytes{1000, 0};
    CHECK(due13(bytes, usage(1000, 499)) == Rotation::update);
    CHECK(due13(bytes, usage(1000, 500)) == Rotation::update_and_request);
    CHECK(rotation_due(bytes, usage(0, 500), kT0, true, true) == Rotation::update_and_request);
    // Half-way alone is not due.
    CHECK(due13(bytes, usage(999, 999)) == Rotation::none);

    RotationPolicy age{0, 60000};
    KeyUsage u = usage(10, 10);
    u.in_since_ms = kT0 + 30001;  // the peer's key is younger than half the interval
    CHECK(due13(age, u, kT0 + 60000) == Rotation::update);
    u.in_since_ms = kT0 + 30000;  // exactly half-way
    CHECK(due13(age, u, kT0 + 60000) == Rotation::update_and_request);
}

TEST_CASE("key rotation: TLS 1.2 cannot rekey and closes at its limit", "[key_rotation]") {
    RotationPolicy p{1000, 60000};
    CHECK(rotation_due(p, usage(5000, 5000), kT0 + 120000, false, false) == Rotation::none);
    CHECK(rotation_due(p, usage(0, 0), kT0, false, true) == Rotation::close);
}

TEST_CASE("key rotation: counters after a rotation", "[key_rotation]") {
    KeyUsage u = usage(1000, 700);
    rotated(u, Rotation::update, kT0 + 5);
    CHECK(u.out_bytes == 0);
    CHECK(u.out_since_ms == kT0 + 5);
    CHECK(u.in_bytes == 700);  // not asked: the peer's key is unchanged
    CHECK(u.in_since_ms == kT0);
    rotated(u, Rotation::update_and_request, kT0 + 9);
    CHECK(u.in_bytes == 0);  // asked: counted as new from now
    CHECK(u.in_since_ms == kT0 + 9);
}

// --- in the record pump ---------------------------------------------------------

TEST_CASE("key rotation in the pump: by volume, the peer asked when half-way",
          "[key_rotation][record_pump]") {
    PumpRig rig;
    rig.link.key_update_bytes = 10000;
    rig.make();
    rig.peer_send(pattern(6000));  // the peer's key: past half-way
    rig.drive();
    CHECK(rig.target_receive().size() == 6000);
    CHECK(rig.counters.key_updates_sent == 0);

    rig.target_send(pattern(10000, 1));  // our key: due
    rig.drive();
    auto got = rig.peer_receive();
    CHECK(got.plain == pattern(10000, 1));
    CHECK(got.outcome == Outcome::more);
    CHECK(rig.counters.key_updates_sent == 1);
    CHECK(rig.peer->stats().key_updates_in == 1);
    // update_requested: the peer answered with a KeyUpdate of its own.
    CHECK(rig.peer->stats().key_updates_out == 1);
    CHECK(rig.pump->key_usage().out_bytes == 0);
    CHECK(rig.pump->key_usage().in_bytes == 0);

    // Both sides go on under the new keys.
    rig.peer_send_raw(rig.side.take_cipher());  // the peer's KeyUpdate
    rig.peer_send("after");
    rig.target_send("after too");
    rig.drive();
    CHECK(rig.target_receive() == bytes_of("after"));
    CHECK(rig.peer_receive().plain == bytes_of("after too"));
    CHECK(rig.counters.key_updates_received == 1);
    CHECK_FALSE(rig.pump->failing());
}

TEST_CASE("key rotation in the pump: by age", "[key_rotation][record_pump]") {
    PumpRig rig;
    rig.link.key_update_interval_ms = 60000;
    rig.make();
    rig.target_send("early");
    rig.drive();
    CHECK(rig.counters.key_updates_sent == 0);
    rig.now += 60000;
    rig.target_send("late");
    rig.drive();
    auto got = rig.peer_receive();
    CHECK(got.plain == bytes_of("earlylate"));
    CHECK(rig.counters.key_updates_sent == 1);
    CHECK(rig.peer->stats().key_updates_in == 1);
    CHECK(rig.peer->stats().key_updates_out == 0);  // nothing came from the peer
}

TEST_CASE("key rotation in the pump: TLS 1.3 at write_key_exhausted",
          "[key_rotation][record_pump]") {
    // The write key starts a few records short of AES-GCM's usage limit.
    PumpRig rig(0x1301, 0, (1ULL << 24) - 2);
    rig.make();
    rig.target_send("one");
    rig.drive();
    rig.target_send("two");
    rig.drive();
    auto got = rig.peer_receive();
    CHECK(got.plain == bytes_of("onetwo"));
    CHECK(rig.counters.key_updates_sent >= 1);
    CHECK(rig.peer->stats().key_updates_in == rig.counters.key_updates_sent);
    CHECK_FALSE(rig.pump->failing());
    CHECK(rig.pump->records().records_under_write_key() < 4);
}

TEST_CASE("key rotation in the pump: TLS 1.2 at its limit closes with close_notify",
          "[key_rotation][record_pump]") {
    PumpRig rig(0xc02f, 0, (1ULL << 24) - 1);
    rig.make();
    rig.target_send("last");
    rig.drive();
    CHECK(rig.pump->ended());
    REQUIRE(rig.pump->reason());
    CHECK(rig.pump->reason()->kind == CloseKind::key_limit);
    CHECK(rig.pump->reason()->text == "TLS 1.2 key usage limit reached");
    auto got = rig.peer_receive();
    CHECK(got.plain == bytes_of("last"));
    CHECK(got.outcome == Outcome::close_notify);
    CHECK(got.after_end == 0);
    CHECK(rig.counters.key_updates_sent == 0);
}
