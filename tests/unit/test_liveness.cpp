// Liveness: PINGs go only to a child that can answer, answers to PINGs
// never sent are violations, one PING may be outstanding, and netproc's
// handshake rate is measured between reports a second apart.
#include <uv.h>

#include <catch2/catch.hpp>

#include "ipc/channel.hpp"
#include "supervisor/liveness.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

constexpr pid_t kSomePid = 999999;  // never signalled

ipc::NpStatus status(uint64_t ok, uint64_t failed) {
    ipc::NpStatus s;
    s.handshakes_ok = ok;
    s.handshakes_failed = failed;
    return s;
}

}  // namespace

TEST_CASE("liveness: the tick is a quarter of the watchdog, between 20 ms and 1 s",
          "[supervisor]") {
    CHECK(tick_interval_ms(0) == 1000);
    CHECK(tick_interval_ms(20000) == 1000);
    CHECK(tick_interval_ms(2000) == 500);
    CHECK(tick_interval_ms(40) == 20);
}

TEST_CASE("liveness: PINGs go to a ready child that can be reached, in sequence", "[supervisor]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair.ok());
        auto& [ours, theirs] = pair.value();
        Child c;
        c.pid = kSomePid;
        c.control = std::make_unique<ipc::UvChannel>(
            &loop, std::move(ours), "test", [](ipc::Message&&) {}, [](const Error&) {});
        send_ping(c);  // not READY yet
        CHECK(c.ping_sent == 0);
        c.ready = true;
        send_ping(c);
        send_ping(c);
        CHECK(c.ping_sent == 2);
        for (uint64_t seq = 1; seq <= 2; ++seq) {
            auto m = ipc::recv_frame(theirs.get());
            REQUIRE(m.ok());
            REQUIRE(m.value().has_value());
            auto ping = ipc::decode_message<ipc::Ping>(*m.value());
            REQUIRE(ping.ok());
            CHECK(ping->seq == seq);
            CHECK(m.value()->request_id() == seq);
        }
        c.control->close();
        send_ping(c);
        CHECK(c.ping_sent == 2);
        c.pid = 0;
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("liveness: an answer to a PING never sent is a protocol violation", "[supervisor]") {
    Child c;
    c.ping_sent = 3;
    auto zero = note_answer(c, 0, "PONG");
    REQUIRE_FALSE(zero.ok());
    CHECK(zero.kind() == ErrorKind::protocol);
    auto ahead = note_answer(c, 4, "NP_STATUS");
    REQUIRE_FALSE(ahead.ok());
    CHECK(ahead.kind() == ErrorKind::protocol);
    CHECK(ahead.message() == "NP_STATUS answers PING 4, which was not sent");

    CHECK(note_answer(c, 2, "PONG").ok());
    CHECK(c.ping_answered == 2);
    CHECK(note_answer(c, 1, "PONG").ok());  // late: the newest answer counts
    CHECK(c.ping_answered == 2);
}

TEST_CASE("liveness: a child answers while at most the last PING is outstanding", "[supervisor]") {
    Child c;
    CHECK_FALSE(answering(c));  // not running
    c.pid = kSomePid;
    CHECK_FALSE(answering(c));  // not READY
    c.ready = true;
    CHECK(answering(c));
    c.ping_sent = 1;
    CHECK(answering(c));  // the PING just sent had less than a tick
    c.ping_sent = 2;
    CHECK_FALSE(answering(c));  // a whole tick without an answer
    CHECK(note_answer(c, 1, "PONG").ok());
    CHECK(answering(c));
    c.pid = 0;
}

TEST_CASE("liveness: netproc's handshake rate over reports a second apart", "[supervisor]") {
    NetprocReport r;
    CHECK_FALSE(r.last().has_value());
    CHECK(r.age_ms(5000) == 0);

    r.record(status(100, 0), 1000);
    CHECK(r.handshakes_per_second() == 0);
    CHECK(r.age_ms(1300) == 300);
    r.record(status(150, 10), 1500);  // under a second: no new rate yet
    CHECK(r.handshakes_per_second() == 0);
    CHECK(r.last()->handshakes_ok == 150);
    r.record(status(280, 20), 2000);  // 200 handshakes in 1 s
    CHECK(r.handshakes_per_second() == Approx(200.0));
    r.record(status(380, 20), 4000);  // 100 in 2 s
    CHECK(r.handshakes_per_second() == Approx(50.0));

    // A new netproc counts from zero: no rate until a second of its own.
    r.record(status(5, 0), 4500);
    CHECK(r.handshakes_per_second() == 0);
    r.record(status(105, 0), 5500);
    CHECK(r.handshakes_per_second() == Approx(100.0));

    // netproc died: no report until the next one starts over.
    r.reset();
    CHECK_FALSE(r.last().has_value());
    r.record(status(1000, 0), 9000);
    CHECK(r.handshakes_per_second() == 0);
}
