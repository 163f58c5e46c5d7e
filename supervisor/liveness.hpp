// Liveness: every tick (a second; a quarter of systemd's watchdog interval
// under its watchdog) the supervisor PINGs netproc and each helper of the
// active generation. netproc answers NP_STATUS (its counts), a helper PONG
// (its handshake counts). systemd's WATCHDOG=1 goes out only while every
// one of them answers; one PING may be outstanding (it had less than a
// tick).
#pragma once

#include <cstdint>
#include <optional>

#include "common/result.hpp"
#include "ipc/messages.hpp"
#include "supervisor/child_table.hpp"

namespace tlsward::supervisor {

// Ticks without a watchdog (status counts, connections lost).
constexpr uint64_t kTickMs = 1000;
// The tick for systemd's watchdog interval (0: none).
uint64_t tick_interval_ms(uint64_t watchdog_ms);

// The next PING to c, if it runs, said READY and its channel works.
void send_ping(Child& c);
// c answered PING `seq` (`what`: "PONG", "NP_STATUS"). An answer to a PING
// that was never sent is a protocol violation.
Status note_answer(Child& c, uint64_t seq, const char* what);
// c runs, said READY, and has answered every PING but perhaps the last.
bool answering(const Child& c);

// netproc's last NP_STATUS, when it came, and the handshake rate measured
// between reports at least a second apart (0 until then).
class NetprocReport {
public:
    void record(const ipc::NpStatus& status, uint64_t now_ms);
    // A new netproc (or none): no report yet.
    void reset() { last_.reset(); }

    const std::optional<ipc::NpStatus>& last() const { return last_; }
    uint64_t age_ms(uint64_t now_ms) const { return last_ ? now_ms - received_ms_ : 0; }
    double handshakes_per_second() const { return rate_; }

private:
    std::optional<ipc::NpStatus> last_;
    uint64_t received_ms_ = 0;
    uint64_t sample_handshakes_ = 0;
    uint64_t sample_ms_ = 0;
    double rate_ = 0;
};

}  // namespace tlsward::supervisor
