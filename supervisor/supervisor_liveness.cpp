// The supervisor's tick: the watchdog, the PINGs (with netproc's metrics
// before them), retiring helpers' deadlines and systemd's STATUS= line.
#include "supervisor/supervisor.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

void Supervisor::on_tick() {
    uint64_t now = uv_now(loop_);
    if (watchdog_ms_ != 0 && healthy()) systemd::notify_watchdog();

    Child& np = children_.netproc();
    if (np.ready && np.reachable())
        np.control->send(ipc::MsgType::np_supervisor_stats, 0,
                         ipc::encode_body(supervisor_stats()));
    send_ping(np);
    for (auto& h : children_.helpers())
        if (generations_.active_helper(*h)) send_ping(*h);

    enforce_retire_deadlines(now);
    publish_status_line(now);
}

// netproc's loop answers, and so does every helper of the active
// generation.
bool Supervisor::healthy() const {
    if (!answering(children_.netproc())) return false;
    for (const auto& h : children_.helpers())
        if (generations_.active_helper(*h) && !answering(*h)) return false;
    return true;
}

}  // namespace tlsward::supervisor
