// Rate limit for a kind of log line that a flood of bad clients could
// repeat thousands of times a second: at most one line per interval, and
// that line says how many were suppressed since the last one.
#pragma once

#include <cstdint>

namespace tlsward {

class LogLimiter {
public:
    explicit LogLimiter(uint64_t interval_ms) : interval_ms_(interval_ms) {}

    // True if a line may be written now; otherwise the event is counted.
    bool allow(uint64_t now_ms) {
        if (logged_once_ && now_ms - last_ms_ < interval_ms_) {
            ++suppressed_;
            return false;
        }
        logged_once_ = true;
        last_ms_ = now_ms;
        return true;
    }
    // How many were suppressed before the line being written; resets.
    uint64_t take_suppressed() {
        uint64_t n = suppressed_;
        suppressed_ = 0;
        return n;
    }

private:
    uint64_t interval_ms_;
    uint64_t last_ms_ = 0;
    uint64_t suppressed_ = 0;
    bool logged_once_ = false;
};

}  // namespace tlsward

namespace tlsward {

// Like LogLimiter, but lets a burst through: at most `lines` lines per
// window of `window_ms`, so the first few bad clients of a flood are each
// logged with their details and the rest are counted. The first line
// after suppression carries the count.
class LogBudget {
public:
    LogBudget(uint64_t window_ms, uint64_t lines) : window_ms_(window_ms), lines_(lines) {}

    bool allow(uint64_t now_ms) {
        if (!started_ || now_ms - window_start_ms_ >= window_ms_) {
            started_ = true;
            window_start_ms_ = now_ms;
            used_ = 0;
        }
        if (used_ >= lines_) {
            ++suppressed_;
            return false;
        }
        ++used_;
        return true;
    }
    uint64_t take_suppressed() {
        uint64_t n = suppressed_;
        suppressed_total_ += n;
        suppressed_ = 0;
        return n;
    }
    // Every line suppressed so far (for the metrics).
    uint64_t suppressed_total() const { return suppressed_total_ + suppressed_; }

private:
    uint64_t window_ms_;
    uint64_t lines_;
    uint64_t window_start_ms_ = 0;
    uint64_t used_ = 0;
    uint64_t suppressed_ = 0;
    uint64_t suppressed_total_ = 0;
    bool started_ = false;
};

}  // namespace tlsward
