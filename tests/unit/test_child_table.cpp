// The supervisor's table of children: which child a message can reach,
// which entries go, and the helpers' handshake totals, which never go back
// when a helper exits.
#include <uv.h>

#include <catch2/catch.hpp>

#include "ipc/channel.hpp"
#include "supervisor/child_table.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

ipc::Pong counts(uint64_t ok, uint64_t failed, uint64_t aborted, uint64_t ms) {
    ipc::Pong p;
    p.seq = 9;
    p.handshakes_ok = ok;
    p.handshakes_failed = failed;
    p.handshakes_aborted = aborted;
    p.handshake_ms = ms;
    return p;
}

void check_counts(const ipc::Pong& p, uint64_t ok, uint64_t failed, uint64_t aborted, uint64_t ms) {
    CHECK(p.handshakes_ok == ok);
    CHECK(p.handshakes_failed == failed);
    CHECK(p.handshakes_aborted == aborted);
    CHECK(p.handshake_ms == ms);
}

// The pids below are never signalled: nothing in these tests kills.
constexpr pid_t kSomePid = 999999;

}  // namespace

TEST_CASE("child table: reachable means running with a working channel", "[supervisor]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair.ok());
        auto& [ours, theirs] = pair.value();
        Child c;
        CHECK_FALSE(c.reachable());  // never started
        c.pid = kSomePid;
        CHECK_FALSE(c.reachable());  // started, no channel
        c.control = std::make_unique<ipc::UvChannel>(
            &loop, std::move(ours), "test", [](ipc::Message&&) {}, [](const Error&) {});
        CHECK(c.reachable());
        c.pid = 0;
        CHECK_FALSE(c.reachable());  // reaped: its channel may still look fine
        c.pid = kSomePid;

        // The child closes its end: the channel fails and the child is
        // out of reach before SIGCHLD says so.
        theirs.reset();
        for (int i = 0; i < 10 && !c.control->failed(); ++i) uv_run(&loop, UV_RUN_ONCE);
        CHECK_FALSE(c.reachable());
        c.pid = 0;
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("child table: a channel the supervisor closed is out of reach", "[supervisor]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair.ok());
        Child c;
        c.pid = kSomePid;
        c.control = std::make_unique<ipc::UvChannel>(
            &loop, std::move(pair.value().first), "test", [](ipc::Message&&) {},
            [](const Error&) {});
        REQUIRE(c.reachable());
        c.control->close();  // a protocol violation: killed, SIGCHLD pending
        CHECK_FALSE(c.reachable());
        c.pid = 0;
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("child table: names, lookup by pid, and dropping what exited for good", "[supervisor]") {
    ChildTable t;
    CHECK(t.netproc().name() == "netproc");
    Child& a = t.add_helper(0, 1);
    Child& b = t.add_helper(1, 1);
    Child& c = t.add_helper(0, 2);
    CHECK(a.role == ipc::ProcessRole::cryptoproc);
    CHECK(b.name() == "crypto[1]");
    CHECK(c.generation == 2);

    t.netproc().pid = 100;
    a.pid = 101;
    c.pid = 103;
    CHECK(t.find(100) == &t.netproc());
    CHECK(t.find(103) == &c);
    CHECK(t.find(102) == nullptr);
    CHECK(t.find(0) == nullptr);  // b is not running: pid 0 finds nothing
    CHECK(t.any_running());

    // Marked to go, but still running: stays until it is reaped.
    a.remove = true;
    b.remove = true;
    t.drop_removed();
    REQUIRE(t.helpers().size() == 2);
    CHECK(t.helpers()[0].get() == &a);
    CHECK(t.helpers()[1].get() == &c);

    a.pid = 0;
    t.drop_removed();
    REQUIRE(t.helpers().size() == 1);
    CHECK(t.helpers()[0].get() == &c);

    t.netproc().pid = 0;
    c.pid = 0;
    CHECK_FALSE(t.any_running());
}

TEST_CASE("child table: helper totals keep the counts of helpers that exited", "[supervisor]") {
    ChildTable t;
    Child& a = t.add_helper(0, 1);
    Child& b = t.add_helper(1, 1);
    a.pid = kSomePid;
    b.pid = kSomePid + 1;
    a.last_pong = counts(10, 2, 1, 500);
    b.last_pong = counts(5, 1, 0, 200);
    t.netproc().pid = kSomePid + 2;
    check_counts(t.helper_totals(), 15, 3, 1, 700);

    // a exits: down, its counts still in the totals.
    CHECK(t.exited(a) == nullptr);  // it had no channel
    CHECK(a.pid == 0);
    CHECK_FALSE(a.ready);
    check_counts(a.last_pong, 0, 0, 0, 0);
    check_counts(t.helper_totals(), 15, 3, 1, 700);

    // Restarted, it counts from zero again; the totals go on from where
    // they were.
    a.last_pong = counts(3, 0, 0, 30);
    check_counts(t.helper_totals(), 18, 3, 1, 730);

    // Retired and dropped from the table: its counts stay too.
    t.exited(b);
    b.remove = true;
    t.drop_removed();
    REQUIRE(t.helpers().size() == 1);
    check_counts(t.helper_totals(), 18, 3, 1, 730);

    // netproc has no helper counts of its own.
    t.netproc().last_pong = counts(100, 100, 100, 100);
    t.exited(t.netproc());
    check_counts(t.helper_totals(), 18, 3, 1, 730);
}

TEST_CASE("child table: a child that exited hands back its channel, closed", "[supervisor]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair.ok());
        ChildTable t;
        Child& h = t.add_helper(0, 1);
        h.pid = kSomePid;
        h.ready = true;
        h.control = std::make_unique<ipc::UvChannel>(
            &loop, std::move(pair.value().first), "test", [](ipc::Message&&) {},
            [](const Error&) {});
        auto channel = t.exited(h);
        REQUIRE(channel != nullptr);
        CHECK(channel->failed());
        CHECK(h.control == nullptr);
        CHECK_FALSE(h.reachable());
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}
