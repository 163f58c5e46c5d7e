// Load shedding for handshakes, after Tor's onion queue: when every helper
// is busy, a new handshake is queued only if, at the rate helpers have been
// finishing handshakes lately, it could start before its deadline; else it
// is refused at once (cheap for everyone) instead of timing out later
// (costly: it held a socket, a queue slot and a helper's attention).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsward::netproc {

class HandshakeAdmission {
public:
    // A helper answered a job (done or failed).
    void completed(uint64_t now_ms);
    // Handshakes finished per second, as measured lately; 0 while unknown.
    double rate() const { return rate_; }
    // Expected wait before a job behind `queued` others reaches a helper;
    // 0 while the rate is unknown (nothing to go by: admit).
    uint64_t expected_wait_ms(size_t queued) const;

    static constexpr uint64_t kWindowMs = 100;

private:
    void roll(uint64_t now_ms);

    uint64_t window_start_ms_ = 0;
    uint64_t in_window_ = 0;
    double rate_ = 0;
};

}  // namespace tlsward::netproc
