// A token bucket counting bytes: `rate` bytes per second, holding at most
// `burst`. Refilled lazily from the loop clock, so buckets cost nothing
// while no one asks them (no timer per bucket).
#pragma once

#include <cstdint>
#include <limits>

#include "ipc/messages.hpp"

namespace tlsward::netproc {

class TokenBucket {
public:
    static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

    TokenBucket() = default;
    explicit TokenBucket(const ipc::RateLimit& limit, uint64_t now_ms = 0) {
        configure(limit, now_ms);
    }

    // A new rate keeps the tokens already earned (capped at the new burst).
    void configure(const ipc::RateLimit& limit, uint64_t now_ms);
    bool limited() const { return rate_ != 0; }
    uint64_t rate() const { return rate_; }

    uint64_t available(uint64_t now_ms);
    // Takes n tokens (n <= available(), or the bucket is unlimited).
    void take(uint64_t n);
    // Milliseconds until at least `n` tokens are there (0 if already).
    uint64_t wait_ms(uint64_t n, uint64_t now_ms);

private:
    void refill(uint64_t now_ms);

    uint64_t rate_ = 0;
    uint64_t burst_ = 0;
    uint64_t tokens_ = 0;
    uint64_t last_ms_ = 0;
    // rate * ms not yet worth a whole byte (in thousandths), so refills at a
    // fine granularity never lose bandwidth to rounding.
    uint64_t remainder_ = 0;
};

}  // namespace tlsward::netproc
