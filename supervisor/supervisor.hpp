// The supervisor: binds the listening sockets (or takes systemd's), starts
// netproc and the crypto helpers (fork + exec), feeds each its
// configuration over its control channel, restarts whichever dies (with
// backoff), reloads on SIGHUP or "tlsward reload", drains on SIGTERM, and
// speaks to systemd (notify, watchdog) and to "tlsward status".
//
// Channels and what each child may send the supervisor (kFromNetproc,
// kFromHelper; anything else is a protocol violation and the child is
// killed and restarted):
//   netproc:    READY (after each configuration), NP_STATUS, NP_RETIRED,
//               NP_HELPER_FAILED
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
//
// This class ties the parts together; each part has its own file:
//   child_table.hpp       the children and what is known of each
//   child_spawner.hpp     how a child process is started
//   restart_backoff.hpp   when a child that died starts again
//   config_push.hpp       what netproc and a helper are sent for a configuration
//   generations.hpp       the active and the pending generation
//   reload_requests.hpp   who asked for reloads, one at a time
//   liveness.hpp          PING, PONG, NP_STATUS, the watchdog
// and its member functions are in supervisor_*.cpp by job (below).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/deferred_delete.hpp"
#include "common/uv_handles.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"
#include "supervisor/child_priority.hpp"
#include "supervisor/child_spawner.hpp"
#include "supervisor/child_table.hpp"
#include "supervisor/control_socket.hpp"
#include "supervisor/generations.hpp"
#include "supervisor/listener_plan.hpp"
#include "supervisor/liveness.hpp"
#include "supervisor/metrics_listener.hpp"
#include "supervisor/prepared_config.hpp"
#include "supervisor/reload_requests.hpp"
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
    using ReloadDone = ReloadRequests::Done;
    void request_reload(const std::string& source, ReloadDone done);

    StatusReport status_report() const;

private:
    // --- start-up and the control socket (supervisor.cpp) ---
    void take_systemd_sockets();
    // The metrics socket `config` asks for: `current`'s when the address is
    // the same, else a newly bound one, else none.
    Result<std::shared_ptr<MetricsSocket>> plan_metrics(
        const PreparedConfig& config, const std::shared_ptr<MetricsSocket>& current);
    void log_listeners(const std::vector<ServiceListener>& plan, bool only_new);
    void on_control_request(const std::string& request, const ControlServer::Respond& respond);

    // --- what each child may send (supervisor_messages.cpp) ---
    // The accept tables (relayd's privsep_proc table): the one place that
    // says which message a child may send and what handles it.
    using Handler = Status (Supervisor::*)(Child&, ipc::Message&);
    struct Accept {
        ipc::MsgType type;
        Handler handler;
    };
    static const Accept kFromNetproc[];
    static const Accept kFromHelper[];
    void on_child_message(Child& c, ipc::Message&& m);
    Status on_ready(Child& c, ipc::Message& m);
    Status on_np_status(Child& c, ipc::Message& m);
    Status on_np_retired(Child& c, ipc::Message& m);
    Status on_np_helper_failed(Child& c, ipc::Message& m);
    Status on_pong(Child& c, ipc::Message& m);
    void on_child_channel_failed(Child& c, const Error& e);
    void kill_child(Child& c, const std::string& why);

    // --- children: start, configure, exit, restart (supervisor_children.cpp) ---
    Status spawn(Child& c);
    void configure_netproc(bool fresh_process);
    void on_sigchld();
    void on_child_exit(Child& c, int status);
    void schedule_restart(Child& c);
    void restart(Child& c);
    void check_ready();

    // --- reload: generations (supervisor_reload.cpp) ---
    void start_reload();
    void on_reload_timeout();
    void maybe_commit_reload();
    void commit_reload();
    void finish_reload();
    void abort_reload(const Error& why);
    void fail_reload(const Error& why);
    void start_queued_reload();
    void drop_pending_generation();
    void retire_helper(Child& c, uint32_t drain_ms);
    void release_retiring_helpers(uint32_t before_generation);
    void stop_older_helpers();
    void enforce_retire_deadlines(uint64_t now);

    // --- shutdown (supervisor_shutdown.cpp) ---
    void begin_shutdown(const char* signal_name);
    void stop_helpers();
    void maybe_finish_shutdown();

    // --- liveness and status (supervisor_liveness.cpp, supervisor_status.cpp) ---
    void on_tick();
    bool healthy() const;
    ipc::NpSupervisorStats supervisor_stats() const;
    void publish_status_line(uint64_t now);

    uv_loop_t* loop_;
    Options options_;
    uint64_t started_ms_ = 0;
    ChildSpawner spawner_;
    Generations generations_;
    // Session ticket keys every helper shares (generated and rotated, or
    // from a key file); every change goes to every live helper.
    std::unique_ptr<TicketKeySource> ticket_keys_;
    // Sockets systemd passed; never closed while we run.
    std::vector<std::shared_ptr<ListenSocket>> inherited_;

    ChildTable children_;
    // Channels of dead children, freed outside their own callbacks.
    DeferredDelete<ipc::UvChannel> closed_channels_;
    uint64_t helper_restarts_ = 0;  // every generation's, for the metrics
    uint64_t netproc_restarts_ = 0;

    ReloadRequests reloads_;
    uint32_t switching_to_ = 0;  // netproc was sent this generation, READY pending
    UvTimer reload_timer_;

    // netproc's last report (for status, STATUS=, the connections lost).
    NetprocReport netproc_report_;
    uint64_t netproc_lost_ms_ = 0;  // when netproc died (0: it did not)
    uint64_t connections_lost_ = 0;

    // Liveness ticks: PINGs, the systemd watchdog, STATUS=.
    UvTimer tick_timer_;
    uint64_t tick_ms_ = kTickMs;
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
