#include "netproc/admission.hpp"

namespace tlsward::netproc {

namespace {
// Weight of the newest window in the moving average: reacts within about a
// second, without swinging on one slow window.
constexpr double kAlpha = 0.2;
}  // namespace

void HandshakeAdmission::roll(uint64_t now_ms) {
    if (window_start_ms_ == 0) {
        window_start_ms_ = now_ms;
        return;
    }
    while (now_ms - window_start_ms_ >= kWindowMs) {
        double r = static_cast<double>(in_window_) * 1000.0 / kWindowMs;
        rate_ = rate_ == 0 ? r : (1 - kAlpha) * rate_ + kAlpha * r;
        in_window_ = 0;
        window_start_ms_ += kWindowMs;
        // After a long quiet spell the old rate says nothing; start over.
        if (now_ms - window_start_ms_ > 50 * kWindowMs) {
            window_start_ms_ = now_ms;
            rate_ = 0;
        }
    }
}

void HandshakeAdmission::completed(uint64_t now_ms) {
    roll(now_ms);
    ++in_window_;
}

uint64_t HandshakeAdmission::expected_wait_ms(size_t queued) const {
    if (rate_ <= 0) return 0;
    return static_cast<uint64_t>(static_cast<double>(queued + 1) * 1000.0 / rate_);
}

}  // namespace tlsward::netproc
