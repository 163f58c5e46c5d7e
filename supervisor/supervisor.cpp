// Start-up (sockets, children, the watchdog) and the control socket's
// requests. The rest of the Supervisor is in supervisor_*.cpp by job.
#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <sys/socket.h>

#include "common/log.hpp"
#include "supervisor/config_push.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

Supervisor::Supervisor(uv_loop_t* loop, PreparedConfig config, Options options)
    : loop_(loop),
      options_(std::move(options)),
      spawner_(loop),
      generations_(std::move(config)),
      closed_channels_(loop),
      reload_timer_(loop, [this] { on_reload_timeout(); }),
      tick_timer_(loop, [this] { on_tick(); }),
      sigchld_(loop, SIGCHLD, [this] { on_sigchld(); }),
      sigterm_(loop, SIGTERM, [this] { begin_shutdown("SIGTERM"); }),
      sigint_(loop, SIGINT, [this] { begin_shutdown("SIGINT"); }),
      sighup_(loop, SIGHUP, [this] { request_reload("SIGHUP", nullptr); }),
      shutdown_timer_(loop, [] {}),
      netproc_autogroup_(loop) {}

Supervisor::~Supervisor() {
    control_.reset();
    children_.kill_and_reap_all();
}

Status Supervisor::start() {
    started_ms_ = uv_now(loop_);
    if (auto s = spawner_.find_executables(); !s) return s;
    ticket_keys_ = std::make_unique<TicketKeySource>(
        loop_, [this](const ipc::CpTicketKeys& k) { push_ticket_keys(children_, k); });
    Generation& g = generations_.active();
    if (auto s = ticket_keys_->configure(g.config.config.global,
                                         g.config.ticket_keys ? &*g.config.ticket_keys : nullptr);
        !s)
        return s;

    if (!options_.control_path.empty()) {
        auto c = ControlServer::open(
            loop_, options_.control_path,
            [this](const std::string& req, const ControlServer::Respond& respond) {
                on_control_request(req, respond);
            });
        if (c) {
            control_ = std::move(c.value());
            LOG_INFO("event=control_socket path=%s", options_.control_path.c_str());
        } else if (options_.control_path_explicit) {
            return c.error();
        } else {
            // The default path is shared by every tlsward of this user;
            // the first one has it.
            LOG_WARN("event=control_socket_unavailable reason=\"%s\"", c.message().c_str());
        }
    }

    take_systemd_sockets();
    auto plan = plan_listeners(g.config, {}, inherited_, bind_listener);
    if (!plan) return plan.error();
    g.listeners = std::move(plan.value());
    log_listeners(g.listeners, false);
    auto metrics = plan_metrics(g.config, nullptr);
    if (!metrics) return metrics.error();
    g.metrics = std::move(metrics.value());
    for (const auto& sock : unused_inherited(g.listeners, inherited_))
        LOG_WARN("event=systemd_socket_unused name=%s address=%s", sock->systemd_name.c_str(),
                 sock->bound.to_string().c_str());

    if (auto s = spawn(children_.netproc()); !s) return s;
    for (unsigned i = 0; i < g.config.helpers; ++i)
        if (auto s = spawn(children_.add_helper(i, g.number)); !s) return s;

    watchdog_ms_ = systemd::watchdog_interval_ms();
    tick_ms_ = tick_interval_ms(watchdog_ms_);
    if (watchdog_ms_ != 0)
        LOG_INFO("event=watchdog interval_ms=%llu check_every_ms=%llu",
                 static_cast<unsigned long long>(watchdog_ms_),
                 static_cast<unsigned long long>(tick_ms_));
    tick_timer_.start(tick_ms_, tick_ms_);
    return {};
}

void Supervisor::take_systemd_sockets() {
    std::vector<std::string> rejected;
    for (auto& s : systemd::inherited_sockets(rejected)) {
        auto sock = std::make_shared<ListenSocket>();
        sock->bound.length = sizeof sock->bound.storage;
        if (getsockname(s.fd.get(), sock->bound.sa(), &sock->bound.length) != 0)
            sock->bound.length = 0;
        sock->requested = sock->bound;
        sock->fd = std::move(s.fd);
        sock->from_systemd = true;
        sock->systemd_name = s.name;
        inherited_.push_back(std::move(sock));
    }
    for (const std::string& r : rejected)
        LOG_WARN("event=systemd_socket_rejected reason=\"%s\"", r.c_str());
}

Result<std::shared_ptr<MetricsSocket>> Supervisor::plan_metrics(
    const PreparedConfig& config, const std::shared_ptr<MetricsSocket>& current) {
    const std::string& listen = config.config.metrics.listen;
    if (listen.empty()) return std::shared_ptr<MetricsSocket>();
    if (current && current->configured() == listen) return current;
    auto bound = MetricsSocket::bind(listen);
    if (!bound) return bound.error();
    std::shared_ptr<MetricsSocket> s = std::move(bound.value());
    LOG_INFO("event=metrics_listening address=%s", s->bound().to_string().c_str());
    return s;
}

void Supervisor::log_listeners(const std::vector<ServiceListener>& plan, bool only_new) {
    for (const ServiceListener& l : plan) {
        if (only_new && !l.newly_bound) continue;
        if (l.socket->from_systemd)
            LOG_INFO("event=listening service=%s address=%s from=systemd:%s",
                     l.service_name.c_str(), l.socket->bound.to_string().c_str(),
                     l.socket->systemd_name.c_str());
        else
            LOG_INFO("event=listening service=%s address=%s", l.service_name.c_str(),
                     l.socket->bound.to_string().c_str());
    }
}

void Supervisor::on_control_request(const std::string& request,
                                    const ControlServer::Respond& respond) {
    if (request == "status") return respond(true, render_status_text(status_report()));
    if (request == "status json") return respond(true, render_status_json(status_report()));
    if (request == "reload") {
        request_reload("control", [respond](const Status& outcome, const std::string& summary) {
            respond(outcome.ok(), outcome.ok() ? summary : outcome.message());
        });
        return;
    }
    std::string shown = request.substr(0, 64);
    for (char& ch : shown)
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
            ch = '?';
    respond(false,
            strfmt("unknown request \"%s\" (known: status, status json, reload)", shown.c_str()));
}

}  // namespace tlsward::supervisor
