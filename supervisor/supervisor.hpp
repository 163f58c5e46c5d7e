// The supervisor: binds the listening sockets (or takes systemd's), starts
// netproc and the crypto helpers (fork + exec), feeds each its
// configuration over its control channel, restarts whichever dies (with
// backoff), reloads on SIGHUP or "tlsward reload", drains on SIGTERM, and
// speaks to systemd (notify, watchdog) and to "tlsward status".
//
// Channels and what each child may send the supervisor (kFromNetproc,
// kFromHelper; anything else is a protocol violation and the child is
// killed and restarted):
//   netproc:    READY (after each configuration), NP_STATUS, NP_RETIRED
//   crypto[i]:  READY, PONG
//
// Generations. Each configuration the supervisor runs is a generation
// with its own helpers. A reload prepares everything first (file, names,
// certificates and keys, new listening sockets) and changes nothing if any
// of it fails; then it starts the new generation's helpers, and only when
// every one of them is READY does netproc get the new configuration and
// switch new handshakes to them. The older helpers finish the handshakes
// they have; netproc says when they have none left (NP_RETIRED) and they
// are told to exit.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/uv_handles.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"
#include "supervisor/child_priority.hpp"
#include "supervisor/control_socket.hpp"
#include "supervisor/listener_plan.hpp"
#include "supervisor/metrics_listener.hpp"
#include "supervisor/prepared_config.hpp"
#include "supervisor/status_report.hpp"
#include "supervisor/ticket_keys.hpp"

namespace tlsward::supervisor {

class Supervisor {
public:
    struct Options {
        // Reads the configuration again for a reload: the file given to
        // "run --config", or quick mode's own flags (whose certificate and
        // key files prepare_config reads again).
        std::function<Result<Config>()> reload_config;
        // The control socket; empty: none.
        std::string control_path;
        // Given explicitly (--control or control_socket): failing to open
        // it stops the start. The default path is best effort.
        bool control_path_explicit = false;
    };

    Supervisor(uv_loop_t* loop, PreparedConfig config, Options options);
    ~Supervisor();

    // Binds every listener and starts the children. An error here (a port
    // in use, a missing binary) means nothing was started.
    Status start();
    int exit_code() const { return exit_code_; }

    // A reload from SIGHUP or the control socket. `done` (optional) gets
    // the outcome once it is known: the new generation serving, or why
    // nothing changed. A reload asked for while one runs follows it.
    using ReloadDone = std::function<void(const Status& outcome, const std::string& summary)>;
    void request_reload(const std::string& source, ReloadDone done);

    StatusReport status_report() const;

private:
    struct Child {
        ipc::ProcessRole role = ipc::ProcessRole::netproc;
        uint32_t slot = 0;
        uint32_t generation = 0;
        pid_t pid = 0;
        std::unique_ptr<ipc::UvChannel> control;
        bool ready = false;
        uint64_t started_ms = 0;
        unsigned consecutive_failures = 0;
        uint64_t restarts = 0;
        std::unique_ptr<UvTimer> restart_timer;
        // An older generation's helper (or an abandoned reload's): it
        // finishes its jobs, exits, and is not restarted.
        bool retiring = false;
        uint64_t retire_deadline_ms = 0;  // SHUTDOWN by then at the latest
        bool shutdown_sent = false;
        uint64_t kill_at_ms = 0;  // SIGKILL if still running then (0: no)
        bool remove = false;      // exited for good: drop from the table
        // Liveness (watchdog): PINGs sent and the last one answered.
        uint64_t ping_sent = 0;
        uint64_t ping_answered = 0;
        // A helper's own counts from its last PONG (for the metrics).
        ipc::Pong last_pong;
        std::string name() const;
    };

    // A configuration as it runs: its number, and the socket behind each
    // listen address.
    struct Generation {
        uint32_t number = 0;
        PreparedConfig config;
        std::vector<ServiceListener> listeners;
        // The metrics endpoint's socket (none: off); shared with the next
        // generation when its [metrics] listen is the same.
        std::shared_ptr<MetricsSocket> metrics;
    };
    // The metrics socket `config` asks for: `current`'s when the address is
    // the same, else a newly bound one, else none.
    Result<std::shared_ptr<MetricsSocket>> plan_metrics(
        const PreparedConfig& config, const std::shared_ptr<MetricsSocket>& current);

    // What each child may send (relayd's privsep_proc table).
    using Handler = Status (Supervisor::*)(Child&, ipc::Message&);
    struct Accept {
        ipc::MsgType type;
        Handler handler;
    };
    static const Accept kFromNetproc[];
    static const Accept kFromHelper[];

    // --- children ---
    Status spawn(Child& c);
    const PreparedConfig& config_for(const Child& c) const;
    void send_netproc_config(Child& np, bool fresh_process);
    void send_helper_config(Child& h);
    void connect_helper(Child& h);
    void on_child_message(Child& c, ipc::Message&& m);
    Status on_ready(Child& c, ipc::Message& m);
    Status on_np_status(Child& c, ipc::Message& m);
    Status on_np_retired(Child& c, ipc::Message& m);
    Status on_np_helper_failed(Child& c, ipc::Message& m);
    Status on_pong(Child& c, ipc::Message& m);
    void on_child_channel_failed(Child& c, const Error& e);
    void on_sigchld();
    void on_child_exit(Child& c, int status);
    void schedule_restart(Child& c);
    void kill_child(Child& c, const std::string& why);
    void retire_helper(Child& c, uint32_t drain_ms);
    void check_ready();
    Child* find_child(pid_t pid);
    bool active_helper(const Child& c) const;
    bool pending_helper(const Child& c) const;

    // --- reload ---
    void start_reload(const std::string& source);
    void assign_service_ids(PreparedConfig& config);
    void maybe_commit_reload();
    void commit_reload();
    void finish_reload();
    void abort_reload(const std::string& why);
    void fail_reload(const std::string& why);
    void answer_reload_waiters(const Status& outcome, const std::string& summary);
    void start_queued_reload();

    // --- shutdown ---
    void begin_shutdown(const char* signal_name);
    void stop_helpers();
    void maybe_finish_shutdown();

    // --- liveness, systemd, control ---
    void on_tick();
    bool healthy() const;
    void on_control_request(const std::string& request, const ControlServer::Respond& respond);
    void log_listeners(const std::vector<ServiceListener>& plan, bool only_new);

    uv_loop_t* loop_;
    Options options_;
    std::string netproc_exe_;
    std::string cryptoproc_exe_;
    uint64_t started_ms_ = 0;

    std::unique_ptr<Generation> active_;
    // Session ticket keys every helper shares (generated and rotated, or
    // from a key file); every change goes to every live helper.
    std::unique_ptr<TicketKeySource> ticket_keys_;
    void publish_ticket_keys(const ipc::CpTicketKeys& keys);
    std::unique_ptr<Generation> pending_;  // a reload whose helpers are starting
    uint32_t last_generation_ = 0;
    uint32_t last_service_id_ = 0;
    // Sockets systemd passed; never closed while we run.
    std::vector<std::shared_ptr<ListenSocket>> inherited_;

    Child netproc_;
    std::vector<std::unique_ptr<Child>> helpers_;  // every generation
    // Channels of dead children, freed outside their own callbacks.
    std::vector<std::unique_ptr<ipc::UvChannel>> retired_;
    UvCheck reaper_;

    // Reload bookkeeping.
    bool reloading_ = false;
    uint32_t switching_to_ = 0;  // netproc was sent this generation, READY pending
    uint64_t reload_started_ms_ = 0;
    std::string reload_source_;
    std::vector<ReloadDone> reload_waiters_;
    bool reload_queued_ = false;
    std::string queued_source_;
    std::vector<ReloadDone> queued_waiters_;
    UvTimer reload_timer_;
    uint64_t reloads_ok_ = 0;
    uint64_t helper_restarts_ = 0;  // every generation's, for the metrics
    uint64_t netproc_restarts_ = 0;
    // The last counts of helpers that have exited, so totals never go back.
    ipc::Pong gone_helpers_;
    uint64_t reloads_failed_ = 0;
    std::string last_reload_error_;

    // netproc's last report (for status, STATUS=, the connections lost).
    std::optional<ipc::NpStatus> np_status_;
    uint64_t np_status_ms_ = 0;
    uint64_t rate_sample_handshakes_ = 0;
    uint64_t rate_sample_ms_ = 0;
    double handshake_rate_ = 0;
    uint64_t netproc_lost_ms_ = 0;  // when netproc died (0: it did not)
    uint64_t connections_lost_ = 0;

    // Liveness ticks: PINGs, the systemd watchdog, STATUS=.
    UvTimer tick_timer_;
    uint64_t tick_ms_ = 1000;
    uint64_t watchdog_ms_ = 0;
    uint64_t status_sent_ms_ = 0;
    std::string status_sent_;

    std::unique_ptr<ControlServer> control_;

    UvSignal sigchld_;
    UvSignal sigterm_;
    UvSignal sigint_;
    UvSignal sighup_;
    UvTimer shutdown_timer_;
    AutogroupNice netproc_autogroup_;  // a reload's netproc_nice
    bool announced_ready_ = false;
    bool shutting_down_ = false;
    int exit_code_ = 0;
};

}  // namespace tlsward::supervisor
