#include "netproc/token_bucket.hpp"

#include <algorithm>

namespace tlsward::netproc {

void TokenBucket::configure(const ipc::RateLimit& limit, uint64_t now_ms) {
    bool was_limited = limited();
    if (was_limited) refill(now_ms);
    rate_ = limit.rate;
    burst_ = limit.rate == 0 ? 0 : std::max<uint64_t>(limit.burst, 1);
    if (!was_limited) {
        tokens_ = burst_;  // a new bucket starts full
        remainder_ = 0;
    }
    tokens_ = std::min(tokens_, burst_);
    last_ms_ = now_ms;
}

void TokenBucket::refill(uint64_t now_ms) {
    if (now_ms <= last_ms_) return;
    uint64_t elapsed = now_ms - last_ms_;
    last_ms_ = now_ms;
    if (tokens_ >= burst_) {
        remainder_ = 0;
        return;
    }
    // Long pauses fill the bucket; no need to multiply huge numbers.
    if (elapsed > 3600 * 1000) {
        tokens_ = burst_;
        remainder_ = 0;
        return;
    }
    uint64_t milli = rate_ * elapsed + remainder_;
    tokens_ = std::min(burst_, tokens_ + milli / 1000);
    remainder_ = tokens_ == burst_ ? 0 : milli % 1000;
}

uint64_t TokenBucket::available(uint64_t now_ms) {
    if (!limited()) return kUnlimited;
    refill(now_ms);
    return tokens_;
}

void TokenBucket::take(uint64_t n) {
    if (!limited()) return;
    tokens_ = n >= tokens_ ? 0 : tokens_ - n;
}

uint64_t TokenBucket::wait_ms(uint64_t n, uint64_t now_ms) {
    if (!limited()) return 0;
    refill(now_ms);
    n = std::min(n, burst_);
    if (tokens_ >= n) return 0;
    uint64_t missing = (n - tokens_) * 1000;
    return (missing - std::min(missing, remainder_) + rate_ - 1) / rate_;
}

}  // namespace tlsward::netproc
