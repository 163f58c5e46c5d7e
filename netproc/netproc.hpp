// The network process: every socket, one libuv loop. It learns its
// services, listening sockets and helper channels from the supervisor over
// the control channel (fd 3), accepts connections, lends each to a crypto
// helper for the handshake and then carries the traffic itself.
//
// Channels and what each may send netproc, in tables (NetProc::kFromSupervisor,
// HelperPool::kFromHelper; anything else is a protocol violation):
//   supervisor: NP_SERVICE, NP_LISTENER, NP_METRICS_LISTENER, NP_CONFIG_DONE
//               (starting, running); NP_HELPER, SHUTDOWN (any time);
//               NP_SUPERVISOR_STATS, PING (once configured: the supervisor
//               sends them only after READY)
//   helper[i]:  HANDSHAKE_DONE, HANDSHAKE_FAILED (only for its own jobs)
// and what it sends the supervisor: READY (after every NP_CONFIG_DONE, with
// its generation), NP_STATUS (the answer to PING), NP_RETIRED.
//
// A reload is a new NP_CONFIG_DONE: services and listeners are replaced as
// a whole (connections keep their own Service), new handshakes go to the
// new generation of helpers, and NP_RETIRED tells the supervisor when the
// older generations have answered every job they had.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/child_bootstrap.hpp"
#include "common/deferred_delete.hpp"
#include "common/uv_handles.hpp"
#include "ipc/uv_channel.hpp"
#include "netproc/buffer_pool.hpp"
#include "netproc/connection.hpp"
#include "netproc/connection_limits.hpp"
#include "netproc/helper_pool.hpp"
#include "netproc/listener.hpp"
#include "netproc/metrics_http.hpp"
#include "netproc/metrics_registry.hpp"
#include "netproc/service.hpp"
#include "netproc/throttle.hpp"

namespace tlsward::netproc {

class NetProc {
public:
    NetProc(uv_loop_t* loop, FdPoller* poller, const ChildArgs& args, UniqueFd control);
    ~NetProc();

    // Exit status once the loop has stopped.
    int exit_code() const { return exit_code_; }

private:
    // Where netproc is in its life, for what the supervisor may send.
    enum class Phase : uint8_t {
        starting = 1,  // before the first NP_CONFIG_DONE
        running = 2,
        draining = 4,  // after SHUTDOWN
    };
    static const char* phase_name(Phase p);
    // Configuration comes before the first READY and with every reload,
    // never once draining (the supervisor drops a reload when it shuts
    // down); PING and the supervisor's statistics go only to a netproc that
    // has said READY.
    static constexpr uint8_t kConfiguring =
        static_cast<uint8_t>(Phase::starting) | static_cast<uint8_t>(Phase::running);
    static constexpr uint8_t kConfigured =
        static_cast<uint8_t>(Phase::running) | static_cast<uint8_t>(Phase::draining);
    static constexpr uint8_t kAnyPhase = kConfiguring | kConfigured;
    // What the supervisor may send netproc and in which phases (a mask of
    // Phase bits), like Supervisor::kFromNetproc and OpenSSH's monitor
    // table. A type not listed, or listed but not allowed now, is a
    // protocol violation, and so is a handler's error: netproc exits 1.
    using Handler = Status (NetProc::*)(ipc::Message&);
    struct Accept {
        ipc::MsgType type;
        uint8_t phases;
        Handler handler;
    };
    static const Accept kFromSupervisor[];

    void on_control_message(ipc::Message&& m);
    void on_control_failed(const Error& e);
    void protocol_violation(const std::string& what);

    // supervisor -> netproc
    Status on_service(ipc::Message& m);
    Status on_listener(ipc::Message& m);
    Status on_metrics_listener(ipc::Message& m);
    Status on_supervisor_stats(ipc::Message& m);
    Status on_helper(ipc::Message& m);
    Status on_config_done(ipc::Message& m);
    Status on_ping(ipc::Message& m);
    Status on_shutdown(ipc::Message& m);

    void commit_config(const ipc::NpConfigDone& done);
    ipc::NpStatus status(uint64_t seq);
    // Every service's counters by name, summed over the configurations it
    // ran under (replaced services no connection uses are folded in here).
    std::map<std::string, ServiceCounters> counters_by_service();
    std::string render_metrics();
    void on_accept(uint32_t service_id, UniqueFd fd, const SocketAddress& peer);
    void on_connection_closed(Connection* c);
    void begin_shutdown(uint32_t drain_ms);
    void maybe_exit();
    void stop(int code);

    uv_loop_t* loop_;
    ChildArgs args_;
    std::unique_ptr<ipc::UvChannel> control_;
    BufferPool buffers_;
    HelperPool helpers_;
    Throttle throttle_;
    ConnectionLimits limits_;
    Connection::Env env_;

    uint32_t generation_ = 0;
    std::map<uint32_t, std::shared_ptr<Service>> services_;
    // Services replaced by a reload that connections still use (for the
    // totals in NP_STATUS), and the counts of those no longer used.
    std::vector<std::shared_ptr<Service>> replaced_services_;
    std::map<std::string, ServiceCounters> gone_counters_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    // Staged by NP_SERVICE / NP_LISTENER until NP_CONFIG_DONE commits them.
    std::map<uint32_t, std::shared_ptr<Service>> staged_services_;
    std::vector<std::unique_ptr<Listener>> staged_listeners_;
    // The metrics endpoint: counters only netproc's thread touches, and the
    // listener the supervisor bound (staged like the others).
    MetricsRegistry metrics_;
    MetricsServer metrics_server_;
    std::optional<std::pair<SocketAddress, UniqueFd>> staged_metrics_;

    uint64_t next_conn_id_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    // Closed connections, freed outside their own callbacks.
    DeferredDelete<Connection> graveyard_;

    Phase phase_ = Phase::starting;
    UvTimer drain_timer_;
    int exit_code_ = 0;
};

}  // namespace tlsward::netproc
