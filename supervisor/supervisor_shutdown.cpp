// SIGTERM or SIGINT: a pending reload is abandoned, the listening sockets
// close, netproc drains, then the helpers stop; a second signal kills
// everything at once. The supervisor's loop ends once every child is
// reaped.
#include <signal.h>

#include "common/log.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

void Supervisor::begin_shutdown(const char* signal_name) {
    if (shutting_down_) {
        LOG_WARN("event=shutdown_forced signal=%s", signal_name);
        children_.kill_all();
        return;
    }
    shutting_down_ = true;
    uint32_t drain = generations_.active().config.config.global.drain_ms;
    LOG_INFO("event=shutdown signal=%s drain_ms=%u", signal_name, drain);
    systemd::notify_stopping();
    for (auto& h : children_.helpers())
        if (h->restart_timer) h->restart_timer->stop();
    if (children_.netproc().restart_timer) children_.netproc().restart_timer->stop();

    // A reload in progress is dropped; whoever asked is told.
    drop_pending_generation();
    reloads_.cancel(Error{ErrorKind::internal, "tlsward is shutting down"});

    // Stop accepting: our copies of the listening sockets close now and
    // netproc closes its own, so new connection attempts are refused
    // instead of waiting in a backlog nobody will read.
    generations_.active().listeners.clear();
    inherited_.clear();

    // netproc drains first; helpers stop once it is gone (they may still be
    // finishing handshakes it waits for).
    Child& np = children_.netproc();
    if (np.reachable())
        np.control->send(ipc::MsgType::shutdown, 0, ipc::encode_body(ipc::Shutdown{drain}));
    else
        stop_helpers();
    shutdown_timer_.set_callback([this] {
        LOG_WARN("event=shutdown_timeout action=kill");
        children_.kill_all();
    });
    shutdown_timer_.start(drain + kKillGraceMs);
    maybe_finish_shutdown();
}

void Supervisor::stop_helpers() {
    for (auto& h : children_.helpers()) {
        if (h->reachable())
            h->control->send(ipc::MsgType::shutdown, 0, ipc::encode_body(ipc::Shutdown{0}));
        else if (h->pid > 0)
            kill(h->pid, SIGKILL);
    }
}

void Supervisor::maybe_finish_shutdown() {
    if (!shutting_down_ || children_.any_running()) return;
    LOG_INFO("event=stopped");
    shutdown_timer_.stop();
    tick_timer_.stop();
    uv_stop(loop_);
}

}  // namespace tlsward::supervisor
