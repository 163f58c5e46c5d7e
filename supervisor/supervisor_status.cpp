// What the supervisor reports: "tlsward status" and systemd's STATUS= line
// (status_report.hpp renders them), and what only it knows for netproc's
// metrics endpoint (NP_SUPERVISOR_STATS).
#include <unistd.h>

#include "supervisor/supervisor.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

namespace {

// systemd's STATUS= at most this often.
constexpr uint64_t kStatusIntervalMs = 1000;

}  // namespace

StatusReport Supervisor::status_report() const {
    uint64_t now = uv_now(loop_);
    const Generation& g = generations_.active();
    StatusReport r;
    r.version = TLSWARD_VERSION;
    r.pid = getpid();
    r.uptime_ms = now - started_ms_;
    r.state = shutting_down_       ? "stopping"
              : reloads_.running() ? "reloading"
              : announced_ready_   ? "running"
                                   : "starting";
    r.config_source = g.config.config.source;
    r.generation = g.number;
    r.reloads_ok = reloads_.succeeded_count();
    r.reloads_failed = reloads_.failed_count();
    r.last_reload_error = reloads_.last_error();
    auto process = [&](const Child& c) {
        ProcessReport p;
        p.role = c.role == ipc::ProcessRole::netproc ? "netproc" : "crypto";
        p.name = c.name();
        p.pid = c.pid;
        p.slot = c.slot;
        p.generation = c.generation;
        p.state = c.pid <= 0                       ? "down"
                  : c.retiring                     ? "retiring"
                  : generations_.pending_helper(c) ? "pending"
                  : c.ready                        ? "ready"
                                                   : "starting";
        p.restarts = c.restarts;
        p.uptime_ms = c.pid > 0 ? now - c.started_ms : 0;
        r.processes.push_back(std::move(p));
    };
    process(children_.netproc());
    for (const auto& h : children_.helpers()) process(*h);
    const auto& np = netproc_report_.last();
    r.netproc = np;
    r.netproc_report_age_ms = netproc_report_.age_ms(now);
    r.handshakes_per_second = netproc_report_.handshakes_per_second();
    if (g.metrics) r.metrics_listen = g.metrics->bound().to_string();
    for (const PreparedService& s : g.config.services) {
        ServiceReport sr;
        sr.id = s.id;
        sr.name = s.config.name;
        sr.mode = s.config.mode == ipc::TlsRole::server ? "server" : "client";
        for (const ServiceListener& l : g.listeners)
            if (l.service_id == s.id) sr.listen.push_back(l.socket->bound.to_string());
        sr.certificates = s.certificates.size();
        if (np)
            for (const ipc::NpServiceStatus& live : np->services)
                if (live.service_id == s.id) sr.live = live;
        r.services.push_back(std::move(sr));
    }
    return r;
}

ipc::NpSupervisorStats Supervisor::supervisor_stats() const {
    ipc::NpSupervisorStats st;
    st.generation = generations_.active().number;
    st.reloads_ok = reloads_.succeeded_count();
    st.reloads_failed = reloads_.failed_count();
    st.helper_restarts = helper_restarts_;
    st.netproc_restarts = netproc_restarts_;
    ipc::Pong helpers = children_.helper_totals();
    st.helper_handshakes_ok = helpers.handshakes_ok;
    st.helper_handshakes_failed = helpers.handshakes_failed;
    st.helper_handshakes_aborted = helpers.handshakes_aborted;
    st.helper_handshake_ms = helpers.handshake_ms;
    return st;
}

// STATUS= when it changed, at most once a second.
void Supervisor::publish_status_line(uint64_t now) {
    if (!systemd::notify_enabled() || now - status_sent_ms_ < kStatusIntervalMs) return;
    std::string line = render_status_line(status_report());
    if (line != status_sent_) {
        systemd::notify_status(line);
        status_sent_ = line;
    }
    status_sent_ms_ = now;
}

}  // namespace tlsward::supervisor
