#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "ipc/channel.hpp"
#include "supervisor/child_paths.hpp"
#include "supervisor/child_process.hpp"

namespace tlsward::supervisor {

namespace {

// Restart delays: 100 ms, doubling per consecutive failure up to 30 s. A
// child that stayed up this long is healthy again and restarts at once.
constexpr uint64_t kFirstBackoffMs = 100;
constexpr uint64_t kMaxBackoffMs = 30000;
constexpr uint64_t kHealthyAfterMs = 30000;
// After the drain time, children get this long before SIGKILL.
constexpr uint64_t kKillGraceMs = 5000;

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

}  // namespace

std::string Supervisor::Child::name() const {
    return role == ipc::ProcessRole::netproc ? std::string("netproc") : strfmt("crypto[%u]", slot);
}

Supervisor::Supervisor(uv_loop_t* loop, PreparedConfig config)
    : loop_(loop),
      config_(std::move(config)),
      reaper_(loop, [this] { retired_.clear(); }),
      sigchld_(loop, SIGCHLD, [this] { on_sigchld(); }),
      sigterm_(loop, SIGTERM, [this] { begin_shutdown("SIGTERM"); }),
      sigint_(loop, SIGINT, [this] { begin_shutdown("SIGINT"); }),
      shutdown_timer_(loop, [] {}) {
    netproc_.role = ipc::ProcessRole::netproc;
    for (unsigned i = 0; i < config_.helpers; ++i) {
        auto h = std::make_unique<Child>();
        h->role = ipc::ProcessRole::cryptoproc;
        h->slot = i;
        helpers_.push_back(std::move(h));
    }
}

Supervisor::~Supervisor() {
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
    auto np = child_executable("tlsward-netproc");
    if (!np) return np.error();
    auto cp = child_executable("tlsward-cryptoproc");
    if (!cp) return cp.error();
    netproc_exe_ = np.value();
    cryptoproc_exe_ = cp.value();

    for (const PreparedService& s : config_.services) {
        for (const SocketAddress& a : s.listen) {
            auto b = bind_listener(a);
            if (!b) return context(strfmt("service \"%s\"", s.config.name.c_str()), b.error());
            LOG_INFO("event=listening service=%s address=%s", s.config.name.c_str(),
                     b->address.to_string().c_str());
            listeners_[s.id].push_back(std::move(b.value()));
        }
    }
    if (auto s = spawn(netproc_); !s) return s;
    for (auto& h : helpers_)
        if (auto s = spawn(*h); !s) return s;
    return {};
}

Status Supervisor::spawn(Child& c) {
    auto pair = ipc::make_channel_pair();
    if (!pair) return pair.error();
    auto& [ours, theirs] = pair.value();
    SpawnSpec spec;
    bool is_netproc = c.role == ipc::ProcessRole::netproc;
    spec.executable = is_netproc ? netproc_exe_ : cryptoproc_exe_;
    spec.title = "tlsward: " + c.name();
    spec.args = {"--slot",       std::to_string(c.slot),
                 "--generation", std::to_string(generation_),
                 "--parent-pid", std::to_string(getpid()),
                 "--log-level",  level_arg(config_.config.global.log_level)};
    spec.control_fd = theirs.get();
    auto pid = spawn_child(spec);
    if (!pid) return pid.error();
    theirs.reset();

    c.pid = pid.value();
    c.generation = generation_;
    c.ready = false;
    c.started_ms = uv_now(loop_);
    Child* cp = &c;
    c.control = std::make_unique<ipc::UvChannel>(
        loop_, std::move(ours), c.name(),
        [this, cp](ipc::Message&& m) { on_child_message(*cp, std::move(m)); },
        [this, cp](const Error& e) { on_child_channel_failed(*cp, e); });
    LOG_INFO("event=spawned process=%s pid=%d generation=%u", c.name().c_str(),
             static_cast<int>(c.pid), c.generation);

    if (is_netproc) {
        send_netproc_config(c);
    } else {
        send_helper_config(c);
        if (netproc_.pid > 0 && netproc_.control && !netproc_.control->failed()) connect_helper(c);
    }
    return {};
}

void Supervisor::send_netproc_config(Child& np) {
    for (const PreparedService& s : config_.services) {
        ipc::NpService m;
        m.id = s.id;
        m.name = s.config.name;
        m.mode = s.config.mode;
        m.target = s.target;
        m.handshake_timeout_ms = s.config.handshake_timeout_ms;
        m.connect_timeout_ms = s.config.connect_timeout_ms;
        m.idle_timeout_ms = s.config.idle_timeout_ms;
        np.control->send(ipc::MsgType::np_service, 0, ipc::encode_body(m));
        for (const BoundListener& l : listeners_[s.id]) {
            ipc::NpListener lm{s.id, l.address};
            np.control->send(ipc::MsgType::np_listener, 0, ipc::encode_body(lm), l.fd.get());
        }
    }
    // Helpers that are already up get a fresh channel to this netproc.
    for (auto& h : helpers_)
        if (h->pid > 0 && h->control && !h->control->failed()) connect_helper(*h);
    ipc::NpConfigDone done;
    done.generation = generation_;
    done.handshake_queue_limit = config_.config.global.handshake_queue_limit;
    done.max_jobs_per_helper = config_.config.global.max_jobs_per_helper;
    np.control->send(ipc::MsgType::np_config_done, 0, ipc::encode_body(done));
}

void Supervisor::send_helper_config(Child& h) {
    for (const PreparedService& s : config_.services) {
        ipc::CpService m;
        m.id = s.id;
        m.name = s.config.name;
        m.role = s.config.mode;
        m.handshake_timeout_ms = s.config.handshake_timeout_ms;
        h.control->send(ipc::MsgType::cp_service, 0, ipc::encode_body(m));
        for (const LoadedCertificate& cert : s.certificates) {
            ipc::CpCertificate cm;
            cm.service_id = s.id;
            cm.chain_pem = cert.chain_pem;
            cm.key_pem = cert.key_pem.clone();
            auto body = ipc::encode_body(cm);
            h.control->send(ipc::MsgType::cp_certificate, 0, body);
            OPENSSL_cleanse(body.data(), body.size());
        }
    }
    ipc::CpConfigDone done{generation_, h.slot};
    h.control->send(ipc::MsgType::cp_config_done, 0, ipc::encode_body(done));
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
    switch (m.type()) {
        case ipc::MsgType::ready: {
            auto r = ipc::decode_message<ipc::Ready>(m);
            if (!r) return kill_child(c, r.message());
            if (r->role != c.role || r->slot != c.slot)
                return kill_child(c, "READY names another role or slot");
            c.ready = true;
            LOG_INFO("event=child_ready process=%s pid=%d", c.name().c_str(),
                     static_cast<int>(c.pid));
            check_ready();
            return;
        }
        case ipc::MsgType::pong: {
            auto p = ipc::decode_message<ipc::Pong>(m);
            if (!p) return kill_child(c, p.message());
            return;
        }
        default:
            return kill_child(c, strfmt("message %s is not accepted from %s",
                                        ipc::msg_type_name(m.type()), c.name().c_str()));
    }
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

void Supervisor::check_ready() {
    if (announced_ready_ || shutting_down_ || !netproc_.ready) return;
    for (auto& h : helpers_)
        if (!h->ready) return;
    announced_ready_ = true;
    LOG_INFO("event=ready netproc=1 helpers=%zu services=%zu generation=%u", helpers_.size(),
             config_.services.size(), generation_);
    sd_notify(0, "READY=1");
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
    maybe_finish_shutdown();
}

void Supervisor::on_child_exit(Child& c, int status) {
    uint64_t up = uv_now(loop_) - c.started_ms;
    c.pid = 0;
    c.ready = false;
    if (c.control) {
        c.control->close();
        retired_.push_back(std::move(c.control));
    }
    if (shutting_down_) {
        LOG_INFO("event=child_exited process=%s status=\"%s\"", c.name().c_str(),
                 describe_wait_status(status).c_str());
        if (&c == &netproc_) stop_helpers();
        return;
    }
    LOG_ERROR("event=child_died process=%s status=\"%s\" uptime_ms=%llu", c.name().c_str(),
              describe_wait_status(status).c_str(), static_cast<unsigned long long>(up));
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
                  c.consecutive_failures, static_cast<unsigned long long>(delay));
    else
        LOG_WARN("event=restart_scheduled process=%s restart_in_ms=%llu", c.name().c_str(),
                 static_cast<unsigned long long>(delay));
    Child* cp = &c;
    if (!c.restart_timer) {
        c.restart_timer = std::make_unique<UvTimer>(loop_, [this, cp] {
            if (shutting_down_) return;
            ++cp->restarts;
            if (auto s = spawn(*cp); !s) {
                LOG_ERROR("event=restart_failed process=%s reason=\"%s\"", cp->name().c_str(),
                          s.message().c_str());
                schedule_restart(*cp);
            }
        });
    }
    c.restart_timer->start(delay);
}

void Supervisor::begin_shutdown(const char* signal_name) {
    if (shutting_down_) {
        LOG_WARN("event=shutdown_forced signal=%s", signal_name);
        auto kill9 = [](Child& c) {
            if (c.pid > 0) kill(c.pid, SIGKILL);
        };
        kill9(netproc_);
        for (auto& h : helpers_) kill9(*h);
        return;
    }
    shutting_down_ = true;
    uint32_t drain = config_.config.global.drain_ms;
    LOG_INFO("event=shutdown signal=%s drain_ms=%u", signal_name, drain);
    sd_notify(0, "STOPPING=1");
    for (auto& h : helpers_)
        if (h->restart_timer) h->restart_timer->stop();
    if (netproc_.restart_timer) netproc_.restart_timer->stop();
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
    uv_stop(loop_);
}

}  // namespace tlsward::supervisor
