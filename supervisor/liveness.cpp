#include "supervisor/liveness.hpp"

#include <algorithm>

namespace tlsward::supervisor {

uint64_t tick_interval_ms(uint64_t watchdog_ms) {
    return watchdog_ms != 0 ? std::clamp<uint64_t>(watchdog_ms / 4, 20, kTickMs) : kTickMs;
}

void send_ping(Child& c) {
    if (!c.ready || !c.reachable()) return;
    ++c.ping_sent;
    c.control->send(ipc::MsgType::ping, c.ping_sent, ipc::encode_body(ipc::Ping{c.ping_sent}));
}

Status note_answer(Child& c, uint64_t seq, const char* what) {
    if (seq == 0 || seq > c.ping_sent)
        return err(ErrorKind::protocol, "%s answers PING %llu, which was not sent", what,
                   static_cast<unsigned long long>(seq));
    c.ping_answered = std::max(c.ping_answered, seq);
    return {};
}

bool answering(const Child& c) {
    return c.pid > 0 && c.ready && c.ping_answered + 1 >= c.ping_sent;
}

void NetprocReport::record(const ipc::NpStatus& status, uint64_t now_ms) {
    uint64_t hs = status.handshakes_ok + status.handshakes_failed;
    if (!last_ || hs < sample_handshakes_) {
        // A new netproc counts from 0.
        sample_handshakes_ = hs;
        sample_ms_ = now_ms;
        rate_ = 0;
    } else if (now_ms - sample_ms_ >= 1000) {
        rate_ = static_cast<double>(hs - sample_handshakes_) * 1000.0 /
                static_cast<double>(now_ms - sample_ms_);
        sample_handshakes_ = hs;
        sample_ms_ = now_ms;
    }
    last_ = status;
    received_ms_ = now_ms;
}

}  // namespace tlsward::supervisor
