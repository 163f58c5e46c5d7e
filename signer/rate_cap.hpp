// The per-helper signature rate cap (issue 21): a token bucket of
// signatures, refilled from the loop clock. Its default is far above what
// a helper can do honestly (a helper signs once per full handshake, at most
// a few thousand a second), so it only brakes a helper gone wrong.
#pragma once

#include <algorithm>
#include <cstdint>

namespace tlsward::signer {

class RateCap {
public:
    RateCap(uint64_t per_second, uint64_t burst, uint64_t now_ms)
        : rate_(per_second), burst_(burst), tokens_(static_cast<double>(burst)), last_ms_(now_ms) {}

    // Takes n signatures' worth; false (and nothing taken) when over the cap.
    bool take(uint64_t now_ms, uint64_t n) {
        if (now_ms > last_ms_) {
            tokens_ = std::min(static_cast<double>(burst_),
                               tokens_ + static_cast<double>(now_ms - last_ms_) *
                                             static_cast<double>(rate_) / 1000.0);
            last_ms_ = now_ms;
        }
        if (static_cast<double>(n) > tokens_) return false;
        tokens_ -= static_cast<double>(n);
        return true;
    }
    uint64_t rate() const { return rate_; }
    uint64_t burst() const { return burst_; }

private:
    uint64_t rate_;
    uint64_t burst_;
    double tokens_;
    uint64_t last_ms_;
};

// Defaults until the supervisor's configuration says otherwise.
constexpr uint64_t kDefaultRate = 100000;  // signatures per second per helper
constexpr uint64_t kDefaultBurst = 65536;  // a helper's whole job table at once

}  // namespace tlsward::signer
