// One proxied connection in netproc, from accept to close. Server mode
// (TLS from the client, plaintext to the target):
//
//   [proxy_header] -> handshaking (accepted socket lent to a helper)
//     -> connecting (to the target) -> proxying -> closed
//
// Client mode (plaintext from the client, TLS to the target): netproc
// connects first, since helpers have no sockets of their own:
//
//   connecting (to the target) -> handshaking (target socket lent, role
//     client) -> proxying -> closed
//
// After the hand-off the TLS side runs through netproc's record layer in
// the record pump (record_pump.hpp): each direction has its own buffers
// and stops reading when the other side does not drain (backpressure), so
// memory per connection is bounded by three pooled blocks whatever the
// peers do, and an idle connection holds none.
//
// The class is split by job: connection_intake.cpp (PROXY header,
// admission, the ClientHello wait, the handshake job and its answer),
// target_connect.cpp (the connect to the target, then the pump starts),
// connection.cpp (events, timers, throttling, close); the close line and
// its level are close_reason.hpp's, the rotation policy key_rotation.hpp's.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/fd_poller.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "ipc/handoff.hpp"
#include "netproc/buffer_pool.hpp"
#include "netproc/close_reason.hpp"
#include "netproc/connection_limits.hpp"
#include "netproc/helper_pool.hpp"
#include "netproc/metrics_registry.hpp"
#include "netproc/peer_address.hpp"
#include "netproc/proxy_protocol.hpp"
#include "netproc/record_layer.hpp"
#include "netproc/record_pump.hpp"
#include "netproc/service.hpp"
#include "netproc/throttle.hpp"

namespace tlsward::netproc {

class Connection : private WireGate {
public:
    struct Env {
        uv_loop_t* loop = nullptr;
        FdPoller* poller = nullptr;
        BufferPool* buffers = nullptr;
        HelperPool* helpers = nullptr;
        Throttle* throttle = nullptr;
        ConnectionLimits* limits = nullptr;
        MetricsRegistry* metrics = nullptr;  // may be unset (unit tests)
        // Called once when the connection has closed; the owner frees it
        // later, outside the connection's own callbacks.
        std::function<void(Connection*)> closed;
    };

    Connection(Env& env, uint64_t id, std::shared_ptr<Service> service, UniqueFd accepted,
               const SocketAddress& peer);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Admits the connection (limits) and queues its handshake with the
    // helpers; false if refused, in which case it is already closed.
    bool start();
    void on_handshake_done(ipc::HandshakeDone&& handoff);
    void on_handshake_failed(const ipc::HandshakeFailed& failure);
    // Graceful stop: no new data is read; close_notify goes out to the peer.
    void finish();

    uint64_t id() const { return id_; }
    bool closed() const { return state_ == State::closed; }
    bool established() const { return state_ == State::proxying; }

private:
    enum class State {
        accepted,
        proxy_header,
        awaiting_hello,
        handshaking,
        connecting,
        proxying,
        closed
    };

    // Grace beyond the helper's own deadline before netproc takes the socket
    // back by force (the helper normally answers "timeout" first).
    static constexpr uint64_t kHelperGraceMs = 1000;
    static void set_nodelay(int fd);

    // --- intake (connection_intake.cpp): PROXY header, admission, the
    // ClientHello wait, the handshake job and its answer ---
    // Server mode with accept_proxy: reads the load balancer's PROXY header.
    void read_proxy_header();
    bool admit();
    // Server mode: lends the socket to a helper only once the client's
    // first record (the ClientHello) has fully arrived; see client_hello.hpp.
    void await_client_hello();
    void check_client_hello(bool peer_done = false);
    void submit_handshake();
    // The one place a failed handshake is counted (in total and under its
    // reason's slot, see service.hpp); then the connection closes.
    void handshake_failed(size_t slot, const CloseReason& why);

    // --- the target (target_connect.cpp) ---
    // Server mode: the plaintext target, after the handshake. Client mode:
    // the TLS target, before it (the helper has no socket of its own).
    void connect_target();
    void on_target_connect_event(int status);
    // The target could not be reached: close_notify to a client that has
    // done its handshake, then close; `why` goes into the close line.
    void target_failed(const std::string& why);
    // Both sides are connected: the record pump starts.
    void on_connected();

    // --- events, timer and close (connection.cpp) ---
    // The watch of the TLS socket: one serves every state (PROXY header,
    // ClientHello, a client-mode connect, proxying); none while lent.
    void watch_tls();
    // The watcher of plain_fd_ (the target in server mode, from its connect on).
    void make_plain_poll();
    // The TLS peer is the client (server mode) or the target (client mode).
    const char* tls_side() const { return client_mode_ ? "target" : "client"; }
    const char* plain_side() const { return client_mode_ ? "client" : "target"; }
    // A socket error reported by poll (libuv says EBADF for any POLLERR).
    std::string socket_error(int fd, int status) const;
    void on_tls_event(int status, int events);
    void on_plain_event(int status, int events);
    void on_timer();
    void on_throttle_wake();
    // What the pump's last step asks of the connection: to close, to linger
    // while an alert drains, or a shorter activity limit once a side is
    // shut. false: the connection has closed.
    bool after_pump();
    void update_interest();
    void check_finished();
    void release_idle_memory();
    bool failing() const { return pump_ && pump_->failing(); }
    // Idle limit now in force (idle timeout, or the half-closed limit); 0: none.
    uint64_t activity_limit_ms() const;
    void arm_activity_timer();
    // Ends the connection on our side: close_notify to a TLS peer that has
    // keys (if none went yet), flushed for a while, then close.
    void close_notify_and_fail(CloseReason why);
    // Ends the connection: `why` goes into the close line.
    void close(const CloseReason& why);

    // --- wire throttling (connection.cpp): the pump's WireGate ---
    void make_throttle_state();
    // The throttle state if a limit applies (made then), else nullptr.
    ThrottleState* throttle_state();
    // Time spent waiting for tokens since the last report, into the service's counter.
    void report_throttled();
    size_t allowance(Direction d, size_t want) override;
    void consumed(Direction d, size_t n) override;
    bool waiting(Direction d) const override;

    Env& env_;
    uint64_t id_;
    std::shared_ptr<Service> service_;
    PeerAddress peer_;
    State state_ = State::accepted;
    uint64_t started_ms_ = 0;

    bool client_mode_;
    bool admitted_ = false;
    bool lingering_ = false;  // failing: the linger timer runs
    int shut_seen_ = 0;       // pump_->shut_count() the activity timer was armed for
    UniqueFd tls_fd_;
    UniqueFd plain_fd_;
    // Kept inside the connection (no allocation; see common/fd_poller.hpp).
    // The TLS socket's watch: PROXY header, ClientHello, a client-mode
    // connect, then proxying (watch_tls()); none while a helper has it.
    std::optional<FdWatch> tls_poll_;
    std::optional<FdWatch> plain_poll_;
    // accept_proxy: header bytes consumed so far; then the addresses it named.
    std::vector<uint8_t> proxy_in_;
    // accept_proxy: the address the client connected to, as the header
    // says (without one, getsockname when a PROXY header is written).
    std::unique_ptr<SocketAddress> local_;
    // proxy_protocol: what the PROXY header to the target says about TLS.
    std::unique_ptr<proxy::TlsInfo> proxy_tls_;
    UvTimer timer_;

    // From the hand-off on: the record layer, the buffers and the data path.
    std::optional<RecordPump> pump_;

    // Links: wire throttling (record sizing and key rotation are the pump's).
    std::unique_ptr<ThrottleState> throttle_;  // only once a limit applies
    uint64_t throttled_reported_ms_ = 0;
    std::string sni_;
    std::string alpn_;
    std::string peer_cn_;  // the TLS peer's certificate CN, if it showed one
};

}  // namespace tlsward::netproc
