#include "supervisor/supervisor.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <span>

#include "common/child_bootstrap.hpp"
#include "common/log.hpp"
#include "ipc/channel.hpp"
#include "supervisor/child_paths.hpp"
#include "supervisor/child_priority.hpp"
#include "supervisor/child_process.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

namespace {

// Restart delays: 100 ms, doubling per consecutive failure up to 30 s. A
// child that stayed up this long is healthy again and restarts at once.
constexpr uint64_t kFirstBackoffMs = 100;
constexpr uint64_t kMaxBackoffMs = 30000;
constexpr uint64_t kHealthyAfterMs = 30000;
// After the drain time, children get this long before SIGKILL.
constexpr uint64_t kKillGraceMs = 5000;
// A reload whose helpers are not all READY by then is abandoned.
constexpr uint64_t kReloadTimeoutMs = 120000;
// An older generation's helpers normally leave as soon as netproc says
// they have no job left (NP_RETIRED). At the latest, they are told to stop
// this long after the longest handshake timeout of their configuration,
// with this much time to finish.
constexpr uint64_t kRetireGraceMs = 5000;
constexpr uint32_t kRetireDrainMs = 2000;
// systemd's STATUS= at most this often.
constexpr uint64_t kStatusIntervalMs = 1000;
// Liveness PINGs without a watchdog (status counts, connections lost).
constexpr uint64_t kTickMs = 1000;

const char* level_arg(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

}  // namespace

// What each child may send the supervisor. A type not listed here is a
// protocol violation: the child is killed (and restarted).
const Supervisor::Accept Supervisor::kFromNetproc[] = {
    {ipc::MsgType::ready, &Supervisor::on_ready},
    {ipc::MsgType::np_status, &Supervisor::on_np_status},
    {ipc::MsgType::np_retired, &Supervisor::on_np_retired},
    {ipc::MsgType::np_helper_failed, &Supervisor::on_np_helper_failed},
};

const Supervisor::Accept Supervisor::kFromHelper[] = {
    {ipc::MsgType::ready, &Supervisor::on_ready},
    {ipc::MsgType::pong, &Supervisor::on_pong},
};

std::string Supervisor::Child::name() const {
    return role == ipc::ProcessRole::netproc ? std::string("netproc") : strfmt("crypto[%u]", slot);
}

Supervisor::Supervisor(uv_loop_t* loop, PreparedConfig config, Options options)
    : loop_(loop),
      options_(std::move(options)),
      reaper_(loop, [this] { retired_.clear(); }),
      reload_timer_(
          loop,
          [this] {
              abort_reload(strfmt("the helpers of generation %u were not ready within %llu s",
                                  pending_ ? pending_->number : 0, ull(kReloadTimeoutMs / 1000)));
          }),
      tick_timer_(loop, [this] { on_tick(); }),
      sigchld_(loop, SIGCHLD, [this] { on_sigchld(); }),
      sigterm_(loop, SIGTERM, [this] { begin_shutdown("SIGTERM"); }),
      sigint_(loop, SIGINT, [this] { begin_shutdown("SIGINT"); }),
      sighup_(loop, SIGHUP, [this] { request_reload("SIGHUP", nullptr); }),
      shutdown_timer_(loop, [] {}),
      netproc_autogroup_(loop) {
    netproc_.role = ipc::ProcessRole::netproc;
    active_ = std::make_unique<Generation>();
    active_->number = last_generation_ = 1;
    active_->config = std::move(config);
    // Service ids start as positions; a reload keeps them by name.
    for (const PreparedService& s : active_->config.services)
        last_service_id_ = std::max(last_service_id_, s.id);
}

Supervisor::~Supervisor() {
    control_.reset();
    auto reap = [](Child& c) {
        if (c.pid > 0) {
            kill(c.pid, SIGKILL);
            waitpid(c.pid, nullptr, 0);
            c.pid = 0;
        }
    };
    reap(netproc_);
    for (auto& h : helpers_) reap(*h);
}

Status Supervisor::start() {
    started_ms_ = uv_now(loop_);
    auto np = child_executable("tlsward-netproc");
    if (!np) return np.error();
    auto cp = child_executable("tlsward-cryptoproc");
    if (!cp) return cp.error();
    netproc_exe_ = np.value();
    cryptoproc_exe_ = cp.value();
    ticket_keys_ = std::make_unique<TicketKeySource>(
        loop_, [this](const ipc::CpTicketKeys& k) { publish_ticket_keys(k); });
    {
        const PreparedConfig& pc = active_->config;
        if (auto s = ticket_keys_->configure(pc.config.global,
                                             pc.ticket_keys ? &*pc.ticket_keys : nullptr);
            !s)
            return s;
    }

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

    auto plan = plan_listeners(active_->config, {}, inherited_, bind_listener);
    if (!plan) return plan.error();
    active_->listeners = std::move(plan.value());
    log_listeners(active_->listeners, false);
    auto metrics = plan_metrics(active_->config, nullptr);
    if (!metrics) return metrics.error();
    active_->metrics = std::move(metrics.value());
    for (const auto& sock : unused_inherited(active_->listeners, inherited_))
        LOG_WARN("event=systemd_socket_unused name=%s address=%s", sock->systemd_name.c_str(),
                 sock->bound.to_string().c_str());

    if (auto s = spawn(netproc_); !s) return s;
    for (unsigned i = 0; i < active_->config.helpers; ++i) {
        auto h = std::make_unique<Child>();
        h->role = ipc::ProcessRole::cryptoproc;
        h->slot = i;
        h->generation = active_->number;
        Child& ref = *h;
        helpers_.push_back(std::move(h));
        if (auto s = spawn(ref); !s) return s;
    }

    watchdog_ms_ = systemd::watchdog_interval_ms();
    tick_ms_ = watchdog_ms_ != 0 ? std::clamp<uint64_t>(watchdog_ms_ / 4, 20, kTickMs) : kTickMs;
    if (watchdog_ms_ != 0)
        LOG_INFO("event=watchdog interval_ms=%llu check_every_ms=%llu", ull(watchdog_ms_),
                 ull(tick_ms_));
    tick_timer_.start(tick_ms_, tick_ms_);
    return {};
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

// --- children ----------------------------------------------------------------

bool Supervisor::active_helper(const Child& c) const {
    return c.role == ipc::ProcessRole::cryptoproc && !c.retiring && c.generation == active_->number;
}

bool Supervisor::pending_helper(const Child& c) const {
    return pending_ && c.role == ipc::ProcessRole::cryptoproc && !c.retiring &&
           c.generation == pending_->number;
}

const PreparedConfig& Supervisor::config_for(const Child& c) const {
    if (pending_ && c.role == ipc::ProcessRole::cryptoproc && c.generation == pending_->number)
        return pending_->config;
    return active_->config;
}

Status Supervisor::spawn(Child& c) {
    if (c.role == ipc::ProcessRole::netproc) c.generation = active_->number;
    const PreparedConfig& config = config_for(c);
    auto pair = ipc::make_channel_pair();
    if (!pair) return pair.error();
    auto& [ours, theirs] = pair.value();
    SpawnSpec spec;
    bool is_netproc = c.role == ipc::ProcessRole::netproc;
    spec.executable = is_netproc ? netproc_exe_ : cryptoproc_exe_;
    spec.title = "tlsward: " + c.name();
    int nice = is_netproc ? config.config.global.netproc_nice : config.config.global.helper_nice;
    spec.args = {"--slot",       std::to_string(c.slot),
                 "--generation", std::to_string(c.generation),
                 "--parent-pid", std::to_string(getpid()),
                 "--log-level",  level_arg(config.config.global.log_level),
                 "--nice",       std::to_string(nice)};
    if (is_netproc && config.config.global.netproc_realtime_priority > 0) {
        spec.args.push_back("--realtime");
        spec.args.push_back(std::to_string(config.config.global.netproc_realtime_priority));
    }
    for (std::string& a : identity_args(is_netproc ? config.users.netproc : config.users.helper))
        spec.args.push_back(std::move(a));
    spec.control_fd = theirs.get();
    if (log_journal_fd() >= 0) {
        // Each child writes its own journal records on our socket.
        spec.journal_fd = log_journal_fd();
        spec.args.push_back("--journal-fd");
        spec.args.push_back(std::to_string(kJournalFd));
    }
    auto pid = spawn_child(spec);
    if (!pid) return pid.error();
    theirs.reset();

    c.pid = pid.value();
    c.ready = false;
    c.started_ms = uv_now(loop_);
    c.ping_sent = c.ping_answered = 0;
    c.shutdown_sent = false;
    c.kill_at_ms = 0;
    Child* cp = &c;
    c.control = std::make_unique<ipc::UvChannel>(
        loop_, std::move(ours), c.name(),
        [this, cp](ipc::Message&& m) { on_child_message(*cp, std::move(m)); },
        [this, cp](const Error& e) { on_child_channel_failed(*cp, e); });
    LOG_INFO("event=spawned process=%s pid=%d generation=%u", c.name().c_str(),
             static_cast<int>(c.pid), c.generation);

    if (is_netproc) {
        np_status_.reset();
        send_netproc_config(c, true);
    } else {
        send_helper_config(c);
        if (netproc_.pid > 0 && netproc_.control && !netproc_.control->failed()) connect_helper(c);
    }
    return {};
}

// The running generation's services and listeners. A fresh netproc also
// gets a channel to every helper it may use (the running generation's and
// a pending reload's).
void Supervisor::send_netproc_config(Child& np, bool fresh_process) {
    const Generation& g = *active_;
    for (const PreparedService& s : g.config.services) {
        ipc::NpService m;
        m.id = s.id;
        m.name = s.config.name;
        m.mode = s.config.mode;
        m.target = s.target;
        m.handshake_timeout_ms = s.config.handshake_timeout_ms;
        m.connect_timeout_ms = s.config.connect_timeout_ms;
        m.idle_timeout_ms = s.config.idle_timeout_ms;
        m.link = s.config.link;
        m.proxy_protocol = s.config.tls.proxy_protocol;
        m.accept_proxy = s.config.tls.accept_proxy;
        m.server_name = s.client.server_name;
        m.log_connections = s.config.log_connections;
        np.control->send(ipc::MsgType::np_service, 0, ipc::encode_body(m));
    }
    for (const ServiceListener& l : g.listeners) {
        ipc::NpListener lm{l.service_id, l.socket->bound};
        np.control->send(ipc::MsgType::np_listener, 0, ipc::encode_body(lm), l.socket->fd.get());
    }
    if (g.metrics) {
        ipc::NpMetricsListener mm{g.metrics->bound()};
        np.control->send(ipc::MsgType::np_metrics_listener, 0, ipc::encode_body(mm),
                         g.metrics->fd());
    }
    if (fresh_process) {
        for (auto& h : helpers_)
            if ((active_helper(*h) || pending_helper(*h)) && h->pid > 0 && h->control &&
                !h->control->failed())
                connect_helper(*h);
    }
    ipc::NpConfigDone done;
    done.generation = g.number;
    done.handshake_queue_limit = g.config.config.global.handshake_queue_limit;
    done.max_jobs_per_helper = g.config.config.global.max_jobs_per_helper;
    done.global_read = g.config.config.global.read_rate;
    done.global_write = g.config.config.global.write_rate;
    done.max_connections = g.config.config.global.max_connections;
    np.control->send(ipc::MsgType::np_config_done, 0, ipc::encode_body(done));
}

void Supervisor::send_helper_config(Child& h) {
    const PreparedConfig& config = config_for(h);
    for (const PreparedService& s : config.services) {
        ipc::CpService m;
        m.id = s.id;
        m.name = s.config.name;
        m.role = s.config.mode;
        m.handshake_timeout_ms = s.config.handshake_timeout_ms;
        m.tls = service_tls(s, config.config.global);
        h.control->send(ipc::MsgType::cp_service, 0, ipc::encode_body(m));
        for (const LoadedCertificate& cert : s.certificates) {
            ipc::CpCertificate cm;
            cm.service_id = s.id;
            cm.chain_pem = cert.chain_pem;
            cm.key_pem = cert.key_pem.clone();
            cm.names = cert.names;
            cm.ocsp_der = cert.ocsp_der;
            auto body = ipc::encode_body(cm);
            h.control->send(ipc::MsgType::cp_certificate, 0, body);
        }
        for (const ipc::CpTrust& t : trust_messages(s))
            h.control->send(ipc::MsgType::cp_trust, 0, ipc::encode_body(t));
    }
    if (ticket_keys_ && ticket_keys_->ready()) {
        auto body = ipc::encode_body(ticket_keys_->current());
        h.control->send(ipc::MsgType::cp_ticket_keys, 0, body);
    }
    ipc::CpConfigDone done{h.generation, h.slot};
    h.control->send(ipc::MsgType::cp_config_done, 0, ipc::encode_body(done));
}

// New ticket keys (rotation, a changed key file, a reload) go to every
// helper that is up; one that starts later gets them with its configuration.
void Supervisor::publish_ticket_keys(const ipc::CpTicketKeys& keys) {
    auto body = ipc::encode_body(keys);
    for (auto& h : helpers_)
        if (h->pid > 0 && h->control && !h->control->failed())
            h->control->send(ipc::MsgType::cp_ticket_keys, 0, body);
}

// A helper and netproc talk over their own socketpair: the supervisor makes
// it and gives one end to each.
void Supervisor::connect_helper(Child& h) {
    auto pair = ipc::make_channel_pair();
    if (!pair) {
        LOG_ERROR("event=connect_helper_failed process=%s reason=\"%s\"", h.name().c_str(),
                  pair.message().c_str());
        return;
    }
    auto& [for_helper, for_netproc] = pair.value();
    h.control->send(ipc::MsgType::cp_netproc_channel, 0, {}, for_helper.get());
    ipc::NpHelper m{h.slot, h.generation};
    netproc_.control->send(ipc::MsgType::np_helper, 0, ipc::encode_body(m), for_netproc.get());
}

void Supervisor::on_child_message(Child& c, ipc::Message&& m) {
    std::span<const Accept> accepts = c.role == ipc::ProcessRole::netproc
                                          ? std::span<const Accept>(kFromNetproc)
                                          : std::span<const Accept>(kFromHelper);
    for (const Accept& a : accepts) {
        if (a.type != m.type()) continue;
        if (auto s = (this->*a.handler)(c, m); !s) kill_child(c, s.message());
        return;
    }
    kill_child(c, strfmt("message %s is not accepted from %s", ipc::msg_type_name(m.type()),
                         c.name().c_str()));
}

Status Supervisor::on_ready(Child& c, ipc::Message& m) {
    auto r = ipc::decode_message<ipc::Ready>(m);
    if (!r) return r.error();
    if (r->role != c.role || r->slot != c.slot) return err("READY names another role or slot");
    if (c.role == ipc::ProcessRole::cryptoproc) {
        if (r->generation != c.generation)
            return err("READY for generation %u from a helper of generation %u", r->generation,
                       c.generation);
        if (c.ready) return err("READY twice");
        c.ready = true;
        LOG_INFO("event=child_ready process=%s pid=%d generation=%u", c.name().c_str(),
                 static_cast<int>(c.pid), c.generation);
        if (pending_helper(c))
            maybe_commit_reload();
        else
            check_ready();
        return {};
    }
    // netproc answers READY to every configuration it applied.
    if (r->generation == 0 || r->generation > active_->number)
        return err("READY for generation %u, which was never sent", r->generation);
    if (!c.ready) {
        c.ready = true;
        LOG_INFO("event=child_ready process=netproc pid=%d generation=%u", static_cast<int>(c.pid),
                 r->generation);
        if (netproc_lost_ms_ != 0) {
            LOG_WARN("event=netproc_restored gap_ms=%llu connections_lost=%llu",
                     ull(uv_now(loop_) - netproc_lost_ms_), ull(connections_lost_));
            netproc_lost_ms_ = 0;
        }
    }
    c.generation = r->generation;
    if (switching_to_ != 0 && r->generation == switching_to_) finish_reload();
    check_ready();
    return {};
}

Status Supervisor::on_np_status(Child& c, ipc::Message& m) {
    auto st = ipc::decode_message<ipc::NpStatus>(m);
    if (!st) return st.error();
    if (st->seq == 0 || st->seq > c.ping_sent)
        return err("NP_STATUS answers PING %llu, which was not sent", ull(st->seq));
    c.ping_answered = std::max(c.ping_answered, st->seq);
    uint64_t now = uv_now(loop_);
    uint64_t hs = st->handshakes_ok + st->handshakes_failed;
    if (!np_status_ || hs < rate_sample_handshakes_) {
        rate_sample_handshakes_ = hs;
        rate_sample_ms_ = now;
        handshake_rate_ = 0;
    } else if (now - rate_sample_ms_ >= 1000) {
        handshake_rate_ = static_cast<double>(hs - rate_sample_handshakes_) * 1000.0 /
                          static_cast<double>(now - rate_sample_ms_);
        rate_sample_handshakes_ = hs;
        rate_sample_ms_ = now;
    }
    np_status_ = st.value();
    np_status_ms_ = now;
    return {};
}

Status Supervisor::on_np_retired(Child&, ipc::Message& m) {
    auto r = ipc::decode_message<ipc::NpRetired>(m);
    if (!r) return r.error();
    if (r->generation > active_->number)
        return err("NP_RETIRED for generation %u, which was never sent", r->generation);
    for (auto& h : helpers_) {
        if (h->retiring && h->generation < r->generation && !h->shutdown_sent) {
            LOG_INFO("event=helper_retiring process=%s generation=%u", h->name().c_str(),
                     h->generation);
            retire_helper(*h, kRetireDrainMs);
        }
    }
    return {};
}

// netproc cut a helper off: kill it like a helper that broke the protocol
// with us; the usual restart gives its slot a fresh process and channel.
// (A helper that already exited, or a slot netproc names wrongly, is no
// violation of netproc's: the helper may have died meanwhile.)
Status Supervisor::on_np_helper_failed(Child&, ipc::Message& m) {
    auto r = ipc::decode_message<ipc::NpHelperFailed>(m);
    if (!r) return r.error();
    for (auto& h : helpers_) {
        if (h->slot == r->slot && h->generation == r->generation && h->pid > 0) {
            kill_child(*h, "netproc: " + r->reason);
            return {};
        }
    }
    LOG_INFO("event=helper_failed_gone slot=%u generation=%u", r->slot, r->generation);
    return {};
}

Status Supervisor::on_pong(Child& c, ipc::Message& m) {
    auto p = ipc::decode_message<ipc::Pong>(m);
    if (!p) return p.error();
    if (p->seq == 0 || p->seq > c.ping_sent)
        return err("PONG answers PING %llu, which was not sent", ull(p->seq));
    c.ping_answered = std::max(c.ping_answered, p->seq);
    c.last_pong = p.value();
    return {};
}

void Supervisor::on_child_channel_failed(Child& c, const Error& e) {
    // EOF: the child is exiting; SIGCHLD does the rest. Anything else is a
    // protocol violation by the child.
    if (e.message != ipc::kPeerClosed) kill_child(c, e.message);
}

void Supervisor::kill_child(Child& c, const std::string& why) {
    LOG_ERROR("event=protocol_violation process=%s pid=%d reason=\"%s\" action=kill",
              c.name().c_str(), static_cast<int>(c.pid), why.c_str());
    if (c.pid > 0) kill(c.pid, SIGKILL);
    if (c.control) c.control->close();
}

// An older generation's helper (or an abandoned reload's): SHUTDOWN lets
// it answer what it still has; it is not restarted.
void Supervisor::retire_helper(Child& c, uint32_t drain_ms) {
    c.retiring = true;
    if (c.restart_timer) c.restart_timer->stop();
    if (c.pid <= 0) {
        c.remove = true;
        return;
    }
    if (c.shutdown_sent) return;
    c.shutdown_sent = true;
    if (c.control && !c.control->failed())
        c.control->send(ipc::MsgType::shutdown, 0, ipc::encode_body(ipc::Shutdown{drain_ms}));
    else
        kill(c.pid, SIGKILL);
    c.kill_at_ms = uv_now(loop_) + drain_ms + kKillGraceMs;
}

void Supervisor::check_ready() {
    if (announced_ready_ || shutting_down_ || !netproc_.ready) return;
    size_t n = 0;
    for (auto& h : helpers_) {
        if (!active_helper(*h)) continue;
        if (!h->ready) return;
        ++n;
    }
    announced_ready_ = true;
    LOG_INFO("event=ready netproc=1 helpers=%zu services=%zu generation=%u", n,
             active_->config.services.size(), active_->number);
    systemd::notify_ready();
}

Supervisor::Child* Supervisor::find_child(pid_t pid) {
    if (netproc_.pid == pid) return &netproc_;
    for (auto& h : helpers_)
        if (h->pid == pid) return h.get();
    return nullptr;
}

void Supervisor::on_sigchld() {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        if (Child* c = find_child(pid)) on_child_exit(*c, status);
    }
    std::erase_if(helpers_,
                  [](const std::unique_ptr<Child>& h) { return h->remove && h->pid <= 0; });
    maybe_finish_shutdown();
}

void Supervisor::on_child_exit(Child& c, int status) {
    uint64_t now = uv_now(loop_);
    uint64_t up = now - c.started_ms;
    bool is_netproc = &c == &netproc_;
    c.pid = 0;
    c.ready = false;
    if (!is_netproc) {
        // Its counts stay in the totals (as of its last PONG).
        gone_helpers_.handshakes_ok += c.last_pong.handshakes_ok;
        gone_helpers_.handshakes_failed += c.last_pong.handshakes_failed;
        gone_helpers_.handshakes_aborted += c.last_pong.handshakes_aborted;
        gone_helpers_.handshake_ms += c.last_pong.handshake_ms;
        c.last_pong = ipc::Pong{};
    }
    if (c.control) {
        c.control->close();
        retired_.push_back(std::move(c.control));
    }
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
    if (!is_netproc && pending_helper(c)) {
        LOG_ERROR("event=child_died process=%s generation=%u status=\"%s\" uptime_ms=%llu",
                  c.name().c_str(), c.generation, how.c_str(), ull(up));
        c.retiring = true;
        c.remove = true;
        abort_reload(strfmt("%s of generation %u exited (%s) before it was ready; its log says why",
                            c.name().c_str(), c.generation, how.c_str()));
        return;
    }
    if (is_netproc) {
        // What was lost is what netproc last reported.
        connections_lost_ = np_status_ ? np_status_->connections_open : 0;
        netproc_lost_ms_ = now;
        LOG_ERROR(
            "event=child_died process=netproc status=\"%s\" uptime_ms=%llu connections_lost=%llu "
            "handshakes_lost=%u report_age_ms=%llu",
            how.c_str(), ull(up), ull(connections_lost_),
            np_status_ ? np_status_->handshakes_in_flight + np_status_->handshakes_queued : 0,
            np_status_ ? ull(now - np_status_ms_) : 0ULL);
        np_status_.reset();
        // The older helpers' jobs were the dead netproc's: nothing to wait for.
        for (auto& h : helpers_)
            if (h->retiring && h->generation < active_->number) retire_helper(*h, 0);
    } else {
        LOG_ERROR("event=child_died process=%s generation=%u status=\"%s\" uptime_ms=%llu",
                  c.name().c_str(), c.generation, how.c_str(), ull(up));
    }
    if (up >= kHealthyAfterMs) c.consecutive_failures = 0;
    schedule_restart(c);
}

void Supervisor::schedule_restart(Child& c) {
    ++c.consecutive_failures;
    uint64_t delay = kFirstBackoffMs;
    for (unsigned i = 1; i < c.consecutive_failures && delay < kMaxBackoffMs; ++i) delay *= 2;
    delay = std::min(delay, kMaxBackoffMs);
    if (c.consecutive_failures > 3)
        LOG_ERROR("event=crash_loop process=%s failures=%u restart_in_ms=%llu", c.name().c_str(),
                  c.consecutive_failures, ull(delay));
    else
        LOG_WARN("event=restart_scheduled process=%s restart_in_ms=%llu", c.name().c_str(),
                 ull(delay));
    Child* cp = &c;
    if (!c.restart_timer) {
        c.restart_timer = std::make_unique<UvTimer>(loop_, [this, cp] {
            if (shutting_down_ || cp->retiring) return;
            ++cp->restarts;
            ++(cp->role == ipc::ProcessRole::netproc ? netproc_restarts_ : helper_restarts_);
            if (auto s = spawn(*cp); !s) {
                LOG_ERROR("event=restart_failed process=%s reason=\"%s\"", cp->name().c_str(),
                          s.message().c_str());
                schedule_restart(*cp);
            }
        });
    }
    c.restart_timer->start(delay);
}

// --- reload ------------------------------------------------------------------

void Supervisor::request_reload(const std::string& source, ReloadDone done) {
    auto refuse = [&](const std::string& why) {
        LOG_WARN("event=reload_refused source=%s reason=\"%s\"", source.c_str(), why.c_str());
        if (done) done(Error{ErrorKind::internal, why}, "");
    };
    if (shutting_down_) return refuse("tlsward is shutting down");
    if (reloading_) {
        // One more reload once this one is done: it will read the files as
        // they are then.
        LOG_INFO("event=reload_queued source=%s", source.c_str());
        reload_queued_ = true;
        queued_source_ = source;
        if (done) queued_waiters_.push_back(std::move(done));
        return;
    }
    if (done) reload_waiters_.push_back(std::move(done));
    start_reload(source);
}

void Supervisor::assign_service_ids(PreparedConfig& config) {
    // A service keeps its id across reloads (handshakes queued in netproc
    // name it); a new one gets a new id, never a reused one.
    std::map<std::pair<std::string, ipc::TlsRole>, uint32_t> known;
    for (const PreparedService& s : active_->config.services)
        known[{s.config.name, s.config.mode}] = s.id;
    for (PreparedService& s : config.services) {
        auto it = known.find({s.config.name, s.config.mode});
        s.id = it != known.end() ? it->second : ++last_service_id_;
    }
}

void Supervisor::start_reload(const std::string& source) {
    reloading_ = true;
    reload_source_ = source;
    reload_started_ms_ = uv_now(loop_);
    // systemd hears of reloads only once it has heard READY=1.
    if (announced_ready_) systemd::notify_reloading();
    LOG_INFO("event=reload source=%s generation=%u", source.c_str(), active_->number);

    // Everything that can fail happens before anything changes.
    auto config = options_.reload_config ? options_.reload_config()
                                         : Result<Config>(err("this tlsward cannot reload"));
    if (!config) return fail_reload(config.message());
    std::vector<std::string> warnings;
    auto prepared = prepare_config(config.value(),
                                   [&warnings](const std::string& w) { warnings.push_back(w); });
    if (!prepared) return fail_reload(prepared.message());
    for (const std::string& w : warnings) LOG_WARN("%s", w.c_str());
    assign_service_ids(prepared.value());
    auto plan = plan_listeners(prepared.value(), active_->listeners, inherited_, bind_listener);
    if (!plan) return fail_reload(plan.message());
    auto metrics = plan_metrics(prepared.value(), active_->metrics);
    if (!metrics) return fail_reload(metrics.message());

    pending_ = std::make_unique<Generation>();
    pending_->number = ++last_generation_;
    pending_->config = std::move(prepared.value());
    pending_->listeners = std::move(plan.value());
    pending_->metrics = std::move(metrics.value());
    log_listeners(pending_->listeners, true);

    for (unsigned i = 0; i < pending_->config.helpers; ++i) {
        auto h = std::make_unique<Child>();
        h->role = ipc::ProcessRole::cryptoproc;
        h->slot = i;
        h->generation = pending_->number;
        Child& ref = *h;
        helpers_.push_back(std::move(h));
        if (auto s = spawn(ref); !s) {
            ref.retiring = ref.remove = true;
            return abort_reload(strfmt("starting %s: %s", ref.name().c_str(), s.message().c_str()));
        }
    }
    LOG_INFO("event=reload_started generation=%u services=%zu helpers=%u", pending_->number,
             pending_->config.services.size(), pending_->config.helpers);
    reload_timer_.start(kReloadTimeoutMs);
}

void Supervisor::maybe_commit_reload() {
    if (!pending_) return;
    for (auto& h : helpers_)
        if (pending_helper(*h) && !h->ready) return;
    commit_reload();
}

// Every helper of the new generation is READY: switch.
void Supervisor::commit_reload() {
    reload_timer_.stop();
    uint64_t now = uv_now(loop_);
    uint64_t longest_handshake = 0;
    for (const PreparedService& s : active_->config.services)
        longest_handshake = std::max<uint64_t>(longest_handshake, s.config.handshake_timeout_ms);

    std::unique_ptr<Generation> old = std::move(active_);
    active_ = std::move(pending_);
    log_set_level(active_->config.config.global.log_level);
    if (netproc_.pid > 0) {
        set_child_nice(netproc_.name(), netproc_.pid, active_->config.config.global.netproc_nice);
        netproc_autogroup_.set(netproc_.name(), netproc_.pid,
                               active_->config.config.global.netproc_nice);
        set_child_realtime(netproc_.name(), netproc_.pid,
                           active_->config.config.global.netproc_realtime_priority);
    }
    for (auto& h : helpers_) {
        if (h->role != ipc::ProcessRole::cryptoproc || h->retiring ||
            h->generation >= active_->number)
            continue;
        h->retiring = true;
        h->retire_deadline_ms = now + longest_handshake + kRetireGraceMs;
        if (h->pid <= 0) retire_helper(*h, 0);  // was waiting for a restart
    }
    std::erase_if(helpers_,
                  [](const std::unique_ptr<Child>& h) { return h->remove && h->pid <= 0; });

    // Sockets the new configuration no longer uses close with `old` (netproc
    // drops its copies when it applies the new configuration).
    std::set<const ListenSocket*> kept;
    for (const ServiceListener& l : active_->listeners) kept.insert(l.socket.get());
    for (const ServiceListener& l : old->listeners)
        if (!kept.count(l.socket.get()))
            LOG_INFO("event=listener_closed service=%s address=%s", l.service_name.c_str(),
                     l.socket->bound.to_string().c_str());
    LOG_INFO("event=generation_switch from=%u to=%u", old->number, active_->number);
    if (ticket_keys_) {
        const PreparedConfig& pc = active_->config;
        if (auto s = ticket_keys_->configure(pc.config.global,
                                             pc.ticket_keys ? &*pc.ticket_keys : nullptr);
            !s)
            LOG_ERROR("event=ticket_keys_failed reason=\"%s\" action=keep_current_keys",
                      s.message().c_str());
    }

    switching_to_ = active_->number;
    if (netproc_.pid > 0 && netproc_.control && !netproc_.control->failed()) {
        send_netproc_config(netproc_, false);
    } else {
        // netproc is restarting and will start on the new configuration;
        // the older helpers' jobs died with the old one.
        for (auto& h : helpers_)
            if (h->retiring && h->generation < active_->number) retire_helper(*h, 0);
    }
    old.reset();
    // The old configuration (every certificate and key) is freed: give the
    // memory back rather than let repeated reloads grow the heap.
    malloc_trim(0);
}

void Supervisor::finish_reload() {
    switching_to_ = 0;
    reloading_ = false;
    ++reloads_ok_;
    uint64_t ms = uv_now(loop_) - reload_started_ms_;
    size_t fresh = 0;
    for (const ServiceListener& l : active_->listeners) fresh += l.newly_bound ? 1 : 0;
    LOG_INFO(
        "event=reloaded generation=%u ms=%llu services=%zu helpers=%u listeners=%zu "
        "new_listeners=%zu source=%s",
        active_->number, ull(ms), active_->config.services.size(), active_->config.helpers,
        active_->listeners.size(), fresh, reload_source_.c_str());
    if (announced_ready_) systemd::notify_ready();
    check_ready();
    answer_reload_waiters(Status{}, strfmt("reloaded: generation %u (%zu services, %u helpers) in "
                                           "%llu ms",
                                           active_->number, active_->config.services.size(),
                                           active_->config.helpers, ull(ms)));
    start_queued_reload();
}

// A reload that got as far as starting helpers, undone.
void Supervisor::abort_reload(const std::string& why) {
    reload_timer_.stop();
    if (pending_) {
        for (auto& h : helpers_)
            if (pending_helper(*h)) retire_helper(*h, 0);
        pending_.reset();  // closes the sockets bound for it
    }
    std::erase_if(helpers_,
                  [](const std::unique_ptr<Child>& h) { return h->remove && h->pid <= 0; });
    fail_reload(why);
}

void Supervisor::fail_reload(const std::string& why) {
    ++reloads_failed_;
    last_reload_error_ = why;
    reloading_ = false;
    switching_to_ = 0;
    LOG_ERROR("event=reload_failed source=%s reason=\"%s\" action=\"kept generation %u\"",
              reload_source_.c_str(), why.c_str(), active_->number);
    if (announced_ready_) systemd::notify_ready();
    answer_reload_waiters(Error{ErrorKind::internal, why}, "");
    start_queued_reload();
}

void Supervisor::answer_reload_waiters(const Status& outcome, const std::string& summary) {
    std::vector<ReloadDone> waiters = std::move(reload_waiters_);
    reload_waiters_.clear();
    for (auto& w : waiters) w(outcome, summary);
}

void Supervisor::start_queued_reload() {
    if (!reload_queued_ || shutting_down_) return;
    reload_queued_ = false;
    reload_waiters_ = std::move(queued_waiters_);
    queued_waiters_.clear();
    start_reload(queued_source_);
}

// --- shutdown ----------------------------------------------------------------

void Supervisor::begin_shutdown(const char* signal_name) {
    if (shutting_down_) {
        LOG_WARN("event=shutdown_forced signal=%s", signal_name);
        if (netproc_.pid > 0) kill(netproc_.pid, SIGKILL);
        for (auto& h : helpers_)
            if (h->pid > 0) kill(h->pid, SIGKILL);
        return;
    }
    shutting_down_ = true;
    uint32_t drain = active_->config.config.global.drain_ms;
    LOG_INFO("event=shutdown signal=%s drain_ms=%u", signal_name, drain);
    systemd::notify_stopping();
    for (auto& h : helpers_)
        if (h->restart_timer) h->restart_timer->stop();
    if (netproc_.restart_timer) netproc_.restart_timer->stop();

    // A reload in progress is dropped; whoever asked is told.
    reload_timer_.stop();
    if (pending_) {
        for (auto& h : helpers_)
            if (pending_helper(*h)) retire_helper(*h, 0);
        pending_.reset();
    }
    reload_queued_ = false;
    for (auto& w : queued_waiters_) reload_waiters_.push_back(std::move(w));
    queued_waiters_.clear();
    answer_reload_waiters(Error{ErrorKind::internal, "tlsward is shutting down"}, "");
    reloading_ = false;

    // Stop accepting: our copies of the listening sockets close now and
    // netproc closes its own, so new connection attempts are refused
    // instead of waiting in a backlog nobody will read.
    active_->listeners.clear();
    inherited_.clear();

    // netproc drains first; helpers stop once it is gone (they may still be
    // finishing handshakes it waits for).
    if (netproc_.pid > 0 && netproc_.control && !netproc_.control->failed())
        netproc_.control->send(ipc::MsgType::shutdown, 0, ipc::encode_body(ipc::Shutdown{drain}));
    else
        stop_helpers();
    shutdown_timer_.set_callback([this] {
        LOG_WARN("event=shutdown_timeout action=kill");
        if (netproc_.pid > 0) kill(netproc_.pid, SIGKILL);
        for (auto& h : helpers_)
            if (h->pid > 0) kill(h->pid, SIGKILL);
    });
    shutdown_timer_.start(drain + kKillGraceMs);
    maybe_finish_shutdown();
}

void Supervisor::stop_helpers() {
    for (auto& h : helpers_) {
        if (h->pid > 0 && h->control && !h->control->failed())
            h->control->send(ipc::MsgType::shutdown, 0, ipc::encode_body(ipc::Shutdown{0}));
        else if (h->pid > 0)
            kill(h->pid, SIGKILL);
    }
}

void Supervisor::maybe_finish_shutdown() {
    if (!shutting_down_ || netproc_.pid > 0) return;
    for (auto& h : helpers_)
        if (h->pid > 0) return;
    LOG_INFO("event=stopped");
    shutdown_timer_.stop();
    tick_timer_.stop();
    uv_stop(loop_);
}

// --- liveness, systemd, control ------------------------------------------------

// netproc's loop answers, and every helper of the running generation is up
// and answers. One PING may be outstanding (it had less than a tick).
bool Supervisor::healthy() const {
    auto alive = [](const Child& c) {
        return c.pid > 0 && c.ready && c.ping_answered + 1 >= c.ping_sent;
    };
    if (!alive(netproc_)) return false;
    for (const auto& h : helpers_)
        if (active_helper(*h) && !alive(*h)) return false;
    return true;
}

void Supervisor::on_tick() {
    uint64_t now = uv_now(loop_);
    if (watchdog_ms_ != 0 && healthy()) systemd::notify_watchdog();

    auto ping = [](Child& c) {
        if (c.pid <= 0 || !c.ready || !c.control || c.control->failed()) return;
        ++c.ping_sent;
        c.control->send(ipc::MsgType::ping, c.ping_sent, ipc::encode_body(ipc::Ping{c.ping_sent}));
    };
    if (netproc_.pid > 0 && netproc_.ready && netproc_.control && !netproc_.control->failed()) {
        // What only the supervisor knows, for netproc's metrics endpoint.
        ipc::NpSupervisorStats st;
        st.generation = active_->number;
        st.reloads_ok = reloads_ok_;
        st.reloads_failed = reloads_failed_;
        st.helper_restarts = helper_restarts_;
        st.netproc_restarts = netproc_restarts_;
        st.helper_handshakes_ok = gone_helpers_.handshakes_ok;
        st.helper_handshakes_failed = gone_helpers_.handshakes_failed;
        st.helper_handshakes_aborted = gone_helpers_.handshakes_aborted;
        st.helper_handshake_ms = gone_helpers_.handshake_ms;
        for (const auto& h : helpers_) {
            st.helper_handshakes_ok += h->last_pong.handshakes_ok;
            st.helper_handshakes_failed += h->last_pong.handshakes_failed;
            st.helper_handshakes_aborted += h->last_pong.handshakes_aborted;
            st.helper_handshake_ms += h->last_pong.handshake_ms;
        }
        netproc_.control->send(ipc::MsgType::np_supervisor_stats, 0, ipc::encode_body(st));
    }
    ping(netproc_);
    for (auto& h : helpers_)
        if (active_helper(*h)) ping(*h);

    for (auto& h : helpers_) {
        if (!h->retiring || h->pid <= 0) continue;
        if (!h->shutdown_sent && h->retire_deadline_ms != 0 && now >= h->retire_deadline_ms) {
            LOG_WARN("event=helper_retire_forced process=%s generation=%u", h->name().c_str(),
                     h->generation);
            retire_helper(*h, kRetireDrainMs);
        }
        if (h->kill_at_ms != 0 && now >= h->kill_at_ms) {
            LOG_WARN("event=helper_retire_kill process=%s generation=%u pid=%d", h->name().c_str(),
                     h->generation, static_cast<int>(h->pid));
            kill(h->pid, SIGKILL);
            h->kill_at_ms = 0;
        }
    }

    if (systemd::notify_enabled() && now - status_sent_ms_ >= kStatusIntervalMs) {
        std::string line = render_status_line(status_report());
        if (line != status_sent_) {
            systemd::notify_status(line);
            status_sent_ = line;
        }
        status_sent_ms_ = now;
    }
}

StatusReport Supervisor::status_report() const {
    uint64_t now = uv_now(loop_);
    StatusReport r;
    r.version = TLSWARD_VERSION;
    r.pid = getpid();
    r.uptime_ms = now - started_ms_;
    r.state = shutting_down_     ? "stopping"
              : reloading_       ? "reloading"
              : announced_ready_ ? "running"
                                 : "starting";
    r.config_source = active_->config.config.source;
    r.generation = active_->number;
    r.reloads_ok = reloads_ok_;
    r.reloads_failed = reloads_failed_;
    r.last_reload_error = last_reload_error_;
    auto process = [&](const Child& c) {
        ProcessReport p;
        p.role = c.role == ipc::ProcessRole::netproc ? "netproc" : "crypto";
        p.name = c.name();
        p.pid = c.pid;
        p.slot = c.slot;
        p.generation = c.generation;
        p.state = c.pid <= 0          ? "down"
                  : c.retiring        ? "retiring"
                  : pending_helper(c) ? "pending"
                  : c.ready           ? "ready"
                                      : "starting";
        p.restarts = c.restarts;
        p.uptime_ms = c.pid > 0 ? now - c.started_ms : 0;
        r.processes.push_back(std::move(p));
    };
    process(netproc_);
    for (const auto& h : helpers_) process(*h);
    r.netproc = np_status_;
    r.netproc_report_age_ms = np_status_ ? now - np_status_ms_ : 0;
    r.handshakes_per_second = handshake_rate_;
    if (active_->metrics) r.metrics_listen = active_->metrics->bound().to_string();
    for (const PreparedService& s : active_->config.services) {
        ServiceReport sr;
        sr.id = s.id;
        sr.name = s.config.name;
        sr.mode = s.config.mode == ipc::TlsRole::server ? "server" : "client";
        for (const ServiceListener& l : active_->listeners)
            if (l.service_id == s.id) sr.listen.push_back(l.socket->bound.to_string());
        sr.certificates = s.certificates.size();
        if (np_status_)
            for (const ipc::NpServiceStatus& live : np_status_->services)
                if (live.service_id == s.id) sr.live = live;
        r.services.push_back(std::move(sr));
    }
    return r;
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
