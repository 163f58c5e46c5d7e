// When a child that died starts again: after 100 ms, doubling per failure
// in a row up to 30 s. A child that stayed up 30 s was healthy, and its
// next failure starts over at 100 ms. More than three failures in a row
// are a crash loop (logged as such; the restarts go on at 30 s).
#pragma once

#include <cstdint>

namespace tlsward::supervisor {

class RestartBackoff {
public:
    static constexpr uint64_t kFirstDelayMs = 100;
    static constexpr uint64_t kMaxDelayMs = 30000;
    static constexpr uint64_t kHealthyAfterMs = 30000;
    static constexpr unsigned kCrashLoopAfter = 3;

    // The child exited after running `up_ms`.
    void exited_after(uint64_t up_ms);
    // One more failure in a row (an exit, or a start that failed): the
    // delay before the next start.
    uint64_t next_delay_ms();

    unsigned failures() const { return failures_; }
    bool crash_loop() const { return failures_ > kCrashLoopAfter; }

private:
    unsigned failures_ = 0;
};

}  // namespace tlsward::supervisor
