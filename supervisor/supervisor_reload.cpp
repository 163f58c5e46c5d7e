// The reload: a new generation prepared (nothing changes if that fails),
// its helpers started, committed once every one is READY (netproc gets the
// new configuration), finished when netproc is READY on it; or abandoned.
// And the older generation's helpers, retired once netproc no longer
// needs them (docs/internals.md, "Reload: generations").
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <set>

#include "common/log.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/systemd.hpp"

namespace tlsward::supervisor {

namespace {

// A reload whose helpers are not all READY by then is abandoned.
constexpr uint64_t kReloadTimeoutMs = 120000;
// An older generation's helpers normally leave as soon as netproc says
// they have no job left (NP_RETIRED). At the latest, they are told to stop
// this long after the longest handshake timeout of their configuration,
// with this much time to finish.
constexpr uint64_t kRetireGraceMs = 5000;
constexpr uint32_t kRetireDrainMs = 2000;

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

}  // namespace

void Supervisor::request_reload(const std::string& source, ReloadDone done) {
    if (shutting_down_) {
        const char* why = "tlsward is shutting down";
        LOG_WARN("event=reload_refused source=%s reason=\"%s\"", source.c_str(), why);
        if (done) done(Error{ErrorKind::internal, why}, "");
        return;
    }
    // One asked for while another runs follows it, reading the files as
    // they are then.
    if (reloads_.running()) LOG_INFO("event=reload_queued source=%s", source.c_str());
    if (reloads_.ask(source, std::move(done), uv_now(loop_))) start_reload();
}

void Supervisor::start_queued_reload() {
    if (shutting_down_) return;
    if (reloads_.start_queued(uv_now(loop_))) start_reload();
}

void Supervisor::start_reload() {
    // systemd hears of reloads only once it has heard READY=1.
    if (announced_ready_) systemd::notify_reloading();
    LOG_INFO("event=reload source=%s generation=%u", reloads_.source().c_str(),
             generations_.active().number);

    // Everything that can fail happens before anything changes.
    auto config = options_.reload_config
                      ? options_.reload_config()
                      : Result<Config>(err(ErrorKind::internal, "this tlsward cannot reload"));
    if (!config) return fail_reload(config.error());
    std::vector<std::string> warnings;
    auto prepared = prepare_config(config.value(),
                                   [&warnings](const std::string& w) { warnings.push_back(w); });
    if (!prepared) return fail_reload(prepared.error());
    for (const std::string& w : warnings) LOG_WARN("event=config_warning detail=\"%s\"", w.c_str());
    generations_.assign_service_ids(prepared.value());
    const Generation& active = generations_.active();
    auto plan = plan_listeners(prepared.value(), active.listeners, inherited_, bind_listener);
    if (!plan) return fail_reload(plan.error());
    auto metrics = plan_metrics(prepared.value(), active.metrics);
    if (!metrics) return fail_reload(metrics.error());

    Generation& g = generations_.begin(std::move(prepared.value()), std::move(plan.value()),
                                       std::move(metrics.value()));
    log_listeners(g.listeners, true);
    for (unsigned i = 0; i < g.config.helpers; ++i) {
        Child& h = children_.add_helper(i, g.number);
        if (auto s = spawn(h); !s) {
            h.retiring = h.remove = true;
            return abort_reload(context("starting " + h.name(), s.error()));
        }
    }
    LOG_INFO("event=reload_started generation=%u services=%zu helpers=%u", g.number,
             g.config.services.size(), g.config.helpers);
    reload_timer_.start(kReloadTimeoutMs);
}

void Supervisor::on_reload_timeout() {
    const Generation* g = generations_.pending();
    abort_reload(err(ErrorKind::internal,
                     "the helpers of generation %u were not ready within %llu s", g ? g->number : 0,
                     ull(kReloadTimeoutMs / 1000)));
}

void Supervisor::maybe_commit_reload() {
    if (!generations_.pending()) return;
    for (auto& h : children_.helpers())
        if (generations_.pending_helper(*h) && !h->ready) return;
    commit_reload();
}

// Every helper of the new generation is READY: switch.
void Supervisor::commit_reload() {
    reload_timer_.stop();
    uint64_t now = uv_now(loop_);
    uint64_t longest_handshake = 0;
    for (const PreparedService& s : generations_.active().config.services)
        longest_handshake = std::max<uint64_t>(longest_handshake, s.config.handshake_timeout_ms);

    std::unique_ptr<Generation> old = generations_.commit();
    const Generation& g = generations_.active();
    const GlobalConfig& global = g.config.config.global;
    log_set_level(global.log_level);
    Child& np = children_.netproc();
    if (np.pid > 0) {
        set_child_nice(np.name(), np.pid, global.netproc_nice);
        netproc_autogroup_.set(np.name(), np.pid, global.netproc_nice);
        set_child_realtime(np.name(), np.pid, global.netproc_realtime_priority);
    }
    for (auto& h : children_.helpers()) {
        if (h->retiring || h->generation >= g.number) continue;
        h->retiring = true;
        h->retire_deadline_ms = now + longest_handshake + kRetireGraceMs;
        if (h->pid <= 0) retire_helper(*h, 0);  // was waiting for a restart
    }
    children_.drop_removed();

    // Sockets the new configuration no longer uses close with `old` (netproc
    // drops its copies when it applies the new configuration).
    std::set<const ListenSocket*> kept;
    for (const ServiceListener& l : g.listeners) kept.insert(l.socket.get());
    for (const ServiceListener& l : old->listeners)
        if (!kept.count(l.socket.get()))
            LOG_INFO("event=listener_closed service=%s address=%s", l.service_name.c_str(),
                     l.socket->bound.to_string().c_str());
    LOG_INFO("event=generation_switch from=%u to=%u", old->number, g.number);
    if (ticket_keys_) {
        if (auto s = ticket_keys_->configure(
                global, g.config.ticket_keys ? &*g.config.ticket_keys : nullptr);
            !s)
            LOG_ERROR("event=ticket_keys_failed reason=\"%s\" action=keep_current_keys",
                      s.message().c_str());
    }

    switching_to_ = g.number;
    if (np.reachable()) {
        configure_netproc(false);
    } else {
        // netproc is restarting and will start on the new configuration;
        // the older helpers' jobs died with the old one.
        stop_older_helpers();
    }
    old.reset();
    // The old configuration (every certificate and key) is freed: give the
    // memory back rather than let repeated reloads grow the heap.
    malloc_trim(0);
}

// netproc is READY on the new generation.
void Supervisor::finish_reload() {
    switching_to_ = 0;
    const Generation& g = generations_.active();
    uint64_t ms = uv_now(loop_) - reloads_.started_ms();
    size_t fresh = 0;
    for (const ServiceListener& l : g.listeners) fresh += l.newly_bound ? 1 : 0;
    LOG_INFO(
        "event=reloaded generation=%u ms=%llu services=%zu helpers=%u listeners=%zu "
        "new_listeners=%zu source=%s",
        g.number, ull(ms), g.config.services.size(), g.config.helpers, g.listeners.size(), fresh,
        reloads_.source().c_str());
    if (announced_ready_) systemd::notify_ready();
    check_ready();
    reloads_.succeeded(strfmt("reloaded: generation %u (%zu services, %u helpers) in %llu ms",
                              g.number, g.config.services.size(), g.config.helpers, ull(ms)));
    start_queued_reload();
}

// A reload that got as far as starting helpers, undone.
void Supervisor::abort_reload(const Error& why) {
    drop_pending_generation();
    children_.drop_removed();
    fail_reload(why);
}

void Supervisor::fail_reload(const Error& why) {
    switching_to_ = 0;
    LOG_ERROR("event=reload_failed source=%s reason=\"%s\" action=\"kept generation %u\"",
              reloads_.source().c_str(), why.message.c_str(), generations_.active().number);
    if (announced_ready_) systemd::notify_ready();
    reloads_.failed(why);
    start_queued_reload();
}

// The pending generation's helpers are stopped and the sockets bound for
// it closed.
void Supervisor::drop_pending_generation() {
    reload_timer_.stop();
    if (!generations_.pending()) return;
    for (auto& h : children_.helpers())
        if (generations_.pending_helper(*h)) retire_helper(*h, 0);
    generations_.abandon();
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
    if (c.reachable())
        c.control->send(ipc::MsgType::shutdown, 0, ipc::encode_body(ipc::Shutdown{drain_ms}));
    else
        kill(c.pid, SIGKILL);
    c.kill_at_ms = uv_now(loop_) + drain_ms + kKillGraceMs;
}

// netproc: no helper older than `before_generation` holds a job.
void Supervisor::release_retiring_helpers(uint32_t before_generation) {
    for (auto& h : children_.helpers()) {
        if (h->retiring && h->generation < before_generation && !h->shutdown_sent) {
            LOG_INFO("event=helper_retiring process=%s generation=%u", h->name().c_str(),
                     h->generation);
            retire_helper(*h, kRetireDrainMs);
        }
    }
}

// The retiring helpers' jobs died with the netproc that sent them: they
// stop at once.
void Supervisor::stop_older_helpers() {
    for (auto& h : children_.helpers())
        if (h->retiring && h->generation < generations_.active().number) retire_helper(*h, 0);
}

// A retiring helper netproc never released is told to stop at its
// deadline, and killed if it has not exited by its kill time.
void Supervisor::enforce_retire_deadlines(uint64_t now) {
    for (auto& h : children_.helpers()) {
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
}

}  // namespace tlsward::supervisor
