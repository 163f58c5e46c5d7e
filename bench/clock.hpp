// Time for measurements: CLOCK_MONOTONIC (and a thread's CPU time) in
// nanoseconds, and timers on a
// libuv loop that fire at an absolute point of that clock (so threads that
// share a schedule start and stop their phases together).
#pragma once

#include <time.h>
#include <uv.h>

#include <cstdint>

namespace tlsward::bench {

inline uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t now_ns() {
    return clock_ns(CLOCK_MONOTONIC);
}

// CPU time of the calling thread.
inline uint64_t thread_cpu_ns() {
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

inline uint64_t seconds_to_ns(double s) {
    return static_cast<uint64_t>(s * 1e9);
}

// Milliseconds from now until `at_ns` (0 when it has passed), for uv_timer_start.
inline uint64_t ms_until(uint64_t at_ns) {
    uint64_t now = now_ns();
    return at_ns > now ? (at_ns - now + 999999) / 1000000 : 0;
}

// Sleeps the calling thread until `at_ns`.
void sleep_until_ns(uint64_t at_ns);

}  // namespace tlsward::bench
