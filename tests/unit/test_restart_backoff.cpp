// When a child that died starts again: 100 ms doubling to 30 s, back to
// 100 ms after 30 s up, a crash loop after three failures in a row.
#include <catch2/catch.hpp>

#include "supervisor/restart_backoff.hpp"

using namespace tlsward::supervisor;

TEST_CASE("restart backoff: 100 ms doubling per failure up to 30 s", "[supervisor]") {
    RestartBackoff b;
    std::vector<uint64_t> delays;
    for (int i = 0; i < 12; ++i) {
        b.exited_after(50);  // died right away, every time
        delays.push_back(b.next_delay_ms());
    }
    CHECK(delays == std::vector<uint64_t>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000,
                                          30000, 30000});
    CHECK(b.failures() == 12);
}

TEST_CASE("restart backoff: a crash loop is more than three failures in a row", "[supervisor]") {
    RestartBackoff b;
    for (int i = 1; i <= 3; ++i) {
        b.exited_after(10);
        b.next_delay_ms();
        CHECK_FALSE(b.crash_loop());
    }
    b.exited_after(10);
    b.next_delay_ms();
    CHECK(b.crash_loop());
}

TEST_CASE("restart backoff: 30 s up makes a child healthy again", "[supervisor]") {
    RestartBackoff b;
    for (int i = 0; i < 6; ++i) {
        b.exited_after(1000);
        b.next_delay_ms();
    }
    CHECK(b.crash_loop());

    // Up just short of 30 s: still counted in the same run of failures.
    b.exited_after(29999);
    CHECK(b.next_delay_ms() == 6400);

    b.exited_after(30000);
    CHECK(b.next_delay_ms() == 100);
    CHECK(b.failures() == 1);
    CHECK_FALSE(b.crash_loop());
}

TEST_CASE("restart backoff: a start that fails backs off further", "[supervisor]") {
    // A restart whose spawn fails schedules the next one without an exit
    // in between: no uptime, so nothing resets.
    RestartBackoff b;
    b.exited_after(60000);
    CHECK(b.next_delay_ms() == 100);
    CHECK(b.next_delay_ms() == 200);
    CHECK(b.next_delay_ms() == 400);
}
