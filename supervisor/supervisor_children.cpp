// Children: starting one and giving it its configuration, what happens
// when one exits (a restart with backoff, or not), and READY=1 once all
// are up.
#include <sys/wait.h>

#include "common/log.hpp"
#include "supervisor/config_push.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

namespace {

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

}  // namespace

Status Supervisor::spawn(Child& c) {
    if (c.role == ipc::ProcessRole::netproc) c.generation = generations_.active().number;
    Child* cp = &c;
    if (auto s = spawner_.spawn(
            c, generations_.config_for(c),
            [this, cp](ipc::Message&& m) { on_child_message(*cp, std::move(m)); },
            [this, cp](const Error& e) { on_child_channel_failed(*cp, e); });
        !s)
        return s;
    if (c.role == ipc::ProcessRole::netproc) {
        netproc_report_.reset();
        configure_netproc(true);
    } else {
        push_helper_config(
            c, generations_.config_for(c),
            ticket_keys_ && ticket_keys_->ready() ? &ticket_keys_->current() : nullptr);
        if (children_.netproc().reachable()) connect_helper(c, *children_.netproc().control);
    }
    return {};
}

// The active generation to netproc. A fresh netproc also gets a channel to
// every helper it may use (the active generation's and a pending reload's).
void Supervisor::configure_netproc(bool fresh_process) {
    std::vector<Child*> connect;
    if (fresh_process)
        for (auto& h : children_.helpers())
            if ((generations_.active_helper(*h) || generations_.pending_helper(*h)) &&
                h->reachable())
                connect.push_back(h.get());
    push_netproc_config(*children_.netproc().control, generations_.active(), connect);
}

void Supervisor::on_sigchld() {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        if (Child* c = children_.find(pid)) on_child_exit(*c, status);
    }
    children_.drop_removed();
    maybe_finish_shutdown();
}

void Supervisor::on_child_exit(Child& c, int status) {
    uint64_t now = uv_now(loop_);
    uint64_t up = now - c.started_ms;
    bool is_netproc = c.role == ipc::ProcessRole::netproc;
    if (auto channel = children_.exited(c)) closed_channels_.defer(std::move(channel));
    std::string how = describe_wait_status(status);
    if (shutting_down_) {
        LOG_INFO("event=child_exited process=%s generation=%u status=\"%s\"", c.name().c_str(),
                 c.generation, how.c_str());
        if (is_netproc) stop_helpers();
        return;
    }
    if (!is_netproc && c.retiring) {
        LOG_INFO("event=helper_exited process=%s generation=%u status=\"%s\"", c.name().c_str(),
                 c.generation, how.c_str());
        c.remove = true;
        return;
    }
    if (!is_netproc && generations_.pending_helper(c)) {
        LOG_ERROR("event=child_died process=%s generation=%u status=\"%s\" uptime_ms=%llu",
                  c.name().c_str(), c.generation, how.c_str(), ull(up));
        c.retiring = true;
        c.remove = true;
        abort_reload(err(ErrorKind::internal,
                         "%s of generation %u exited (%s) before it was ready; its log says why",
                         c.name().c_str(), c.generation, how.c_str()));
        return;
    }
    if (is_netproc) {
        // What was lost is what netproc last reported.
        const auto& last = netproc_report_.last();
        connections_lost_ = last ? last->connections_open : 0;
        netproc_lost_ms_ = now;
        LOG_ERROR(
            "event=child_died process=netproc status=\"%s\" uptime_ms=%llu connections_lost=%llu "
            "handshakes_lost=%u report_age_ms=%llu",
            how.c_str(), ull(up), ull(connections_lost_),
            last ? last->handshakes_in_flight + last->handshakes_queued : 0,
            ull(netproc_report_.age_ms(now)));
        netproc_report_.reset();
        // The older helpers' jobs were the dead netproc's: nothing to wait for.
        stop_older_helpers();
    } else {
        LOG_ERROR("event=child_died process=%s generation=%u status=\"%s\" uptime_ms=%llu",
                  c.name().c_str(), c.generation, how.c_str(), ull(up));
    }
    c.backoff.exited_after(up);
    schedule_restart(c);
}

void Supervisor::schedule_restart(Child& c) {
    uint64_t delay = c.backoff.next_delay_ms();
    if (c.backoff.crash_loop())
        LOG_ERROR("event=crash_loop process=%s failures=%u restart_in_ms=%llu", c.name().c_str(),
                  c.backoff.failures(), ull(delay));
    else
        LOG_WARN("event=restart_scheduled process=%s restart_in_ms=%llu", c.name().c_str(),
                 ull(delay));
    Child* cp = &c;
    if (!c.restart_timer)
        c.restart_timer = std::make_unique<UvTimer>(loop_, [this, cp] { restart(*cp); });
    c.restart_timer->start(delay);
}

void Supervisor::restart(Child& c) {
    if (shutting_down_ || c.retiring) return;
    ++c.restarts;
    ++(c.role == ipc::ProcessRole::netproc ? netproc_restarts_ : helper_restarts_);
    if (auto s = spawn(c); !s) {
        LOG_ERROR("event=restart_failed process=%s reason=\"%s\"", c.name().c_str(),
                  s.message().c_str());
        schedule_restart(c);
    }
}

// READY=1 to systemd once netproc and every helper of the active
// generation are ready (at start; a reload announces itself).
void Supervisor::check_ready() {
    if (announced_ready_ || shutting_down_ || !children_.netproc().ready) return;
    size_t n = 0;
    for (auto& h : children_.helpers()) {
        if (!generations_.active_helper(*h)) continue;
        if (!h->ready) return;
        ++n;
    }
    announced_ready_ = true;
    const Generation& g = generations_.active();
    LOG_INFO("event=ready netproc=1 helpers=%zu services=%zu generation=%u", n,
             g.config.services.size(), g.number);
    systemd::notify_ready();
}

}  // namespace tlsward::supervisor
