// The crypto helper's life after start-up: its two channels (supervisor on
// fd 3, netproc from CP_NETPROC_CHANNEL), the one table of what each may
// send, the services' TLS contexts and the handshakes in flight.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/child_bootstrap.hpp"
#include "common/deferred_delete.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "cryptoproc/handshake.hpp"
#include "cryptoproc/tls_context.hpp"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"

namespace tlsward::cryptoproc {

// The handshakes in flight, by job id. Finished and aborted handshakes are
// destroyed on a later loop turn (never inside their own callbacks), which
// is also when their fds are closed.
class JobTable {
public:
    using Reply = std::function<void(uint64_t job_id, HandshakeResult&&)>;

    JobTable(uv_loop_t* loop, FdPoller* poller, uint32_t helper_generation);
    ~JobTable();
    JobTable(const JobTable&) = delete;
    JobTable& operator=(const JobTable&) = delete;

    // Starts a handshake on a lent socket. A failure to start comes back as
    // the returned HANDSHAKE_FAILED (the caller replies with it); otherwise
    // reply is called once, unless the job is aborted: from a loop
    // callback, or from inside start() when the handshake ends at once
    // (a ClientHello that is already a fatal error). service null: unknown
    // service.
    std::optional<ipc::HandshakeFailed> start(uint64_t job_id, const ipc::HandshakeJob& job,
                                              const ServiceContext* service, UniqueFd fd,
                                              Reply reply);
    bool contains(uint64_t job_id) const { return jobs_.count(job_id) != 0; }
    size_t in_flight() const { return jobs_.size(); }
    // Drops every handshake without a reply; their fds close on the next turn.
    void abort_all();
    // Ends every handshake with HANDSHAKE_FAILED timeout (through its reply).
    void expire_all(const std::string& why);
    const HandshakeCounters& counters() const { return counters_; }

private:
    void on_done(Handshake& hs, HandshakeResult&& result, const Reply& reply);
    std::optional<ipc::HandshakeFailed> refuse(const ipc::HandshakeJob& job,
                                               const std::string& service, ipc::FailReason reason,
                                               std::string detail);
    void bury(std::unique_ptr<Handshake> hs);

    uv_loop_t* loop_;
    FdPoller* poller_;
    uint32_t generation_;
    std::unordered_map<uint64_t, std::unique_ptr<Handshake>> jobs_;
    DeferredDelete<Handshake> graveyard_;
    HandshakeCounters counters_;
};

class Helper {
public:
    // Takes the control channel (fd 3); the loop runs until finish().
    Helper(uv_loop_t* loop, FdPoller* poller, const ChildArgs& args, UniqueFd control);
    ~Helper();
    Helper(const Helper&) = delete;
    Helper& operator=(const Helper&) = delete;

    // The process exit status once the loop has stopped.
    int exit_code() const { return exit_code_; }
    const HandshakeCounters& counters() const { return jobs_.counters(); }

private:
    enum class Peer { supervisor, netproc };
    using Handler = Status (Helper::*)(ipc::Message&);
    struct Accept {
        ipc::MsgType type;
        Handler handler;
    };
    struct PeerSpec {
        Peer peer;
        const char* name;
        std::span<const Accept> accepts;
    };
    static const Accept kFromSupervisor[];
    static const Accept kFromNetproc[];
    static const PeerSpec kPeers[];

    void dispatch(Peer peer, uint64_t channel_epoch, ipc::Message&& msg);

    // supervisor -> helper
    Status on_service(ipc::Message& msg);
    Status on_certificate(ipc::Message& msg);
    Status on_trust(ipc::Message& msg);
    Status on_ticket_keys(ipc::Message& msg);
    Status on_config_done(ipc::Message& msg);
    Status on_netproc_channel(ipc::Message& msg);
    Status on_ping(ipc::Message& msg);
    Status on_shutdown(ipc::Message& msg);
    // netproc -> helper
    Status on_handshake(ipc::Message& msg);

    void on_control_failed(const Error& e);
    void drop_netproc(const Error& why);
    void reply(uint64_t epoch, uint64_t job_id, HandshakeResult&& result);
    void maybe_drained();
    void drain_deadline();
    void finish(int code);

    uv_loop_t* loop_;
    ChildArgs args_;
    std::unique_ptr<ipc::UvChannel> control_;
    std::unique_ptr<ipc::UvChannel> netproc_;
    uint64_t netproc_epoch_ = 0;
    bool netproc_failure_logged_ = false;
    DeferredDelete<ipc::UvChannel> dead_channels_;

    std::map<uint32_t, ServiceSpec> pending_services_;
    std::map<uint32_t, std::unique_ptr<ServiceContext>> services_;
    // The latest session ticket master keys (wiped when replaced).
    ipc::CpTicketKeys ticket_keys_;
    bool have_ticket_keys_ = false;
    // Trust material one service may receive (CAs + CRLs of one kind).
    static constexpr size_t kMaxTrustBytes = 16u << 20;
    bool configured_ = false;

    JobTable jobs_;
    bool draining_ = false;
    UvTimer drain_timer_;
    UvTimer flush_timer_;
    uint64_t flush_deadline_ms_ = 0;
    bool stopped_ = false;
    int exit_code_ = 0;
};

}  // namespace tlsward::cryptoproc
