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
// After the hand-off the TLS side runs through netproc's record layer;
// each direction has its own buffers and stops reading when the other
// side does not drain (backpressure), so memory per connection is bounded
// by three pooled blocks whatever the peers do, and an idle connection
// holds none.
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
#include "netproc/connection_limits.hpp"
#include "netproc/helper_pool.hpp"
#include "netproc/metrics_registry.hpp"
#include "netproc/peer_address.hpp"
#include "netproc/proxy_protocol.hpp"
#include "netproc/record_layer.hpp"
#include "netproc/record_sizer.hpp"
#include "netproc/service.hpp"
#include "netproc/throttle.hpp"

namespace tlsward::netproc {

// Connection log lines left out by the flood limit so far (for the metrics).
uint64_t connection_log_lines_suppressed();

class Connection {
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

    // Server mode with accept_proxy: reads the load balancer's PROXY header.
    void read_proxy_header();
    bool admit();
    // Server mode: lends the socket to a helper only once the client's
    // first record (the ClientHello) has fully arrived; see client_hello.hpp.
    void await_client_hello();
    void check_client_hello(bool peer_done = false);
    void submit_handshake();
    void connect_target();
    void on_target_connect_event(int status);
    // The watcher of plain_fd_ (the target in server mode, from its connect on).
    void make_plain_poll();
    void watch_tls();
    // The target could not be reached: close_notify to a client that has
    // done its handshake, then close; `why` goes into the close line.
    void target_failed(const std::string& why);
    void on_connected();
    // The TLS peer is the client (server mode) or the target (client mode).
    const char* tls_side() const { return client_mode_ ? "target" : "client"; }
    const char* plain_side() const { return client_mode_ ? "client" : "target"; }
    // A socket error reported by poll (libuv says EBADF for any POLLERR).
    std::string socket_error(int fd, int status) const;
    void on_tls_event(int status, int events);
    void release_idle_memory();
    void on_plain_event(int status, int events);
    void on_timer();

    void read_tls();
    void pump_inbound();  // tls_in_ -> records -> plain_out_ -> target
    void read_plain();    // target -> records -> tls_out_
    void flush_tls();
    void update_interest();
    void check_finished();
    void touch();
    bool half_closed() const;
    // Idle limit now in force (idle timeout, or the half-closed limit); 0: none.
    uint64_t activity_limit_ms() const;
    void arm_activity_timer();
    // KeyUpdate by volume or age, and before the AEAD usage limit.
    void maybe_rotate_keys();
    void on_throttle_wake();
    void make_throttle_state();
    // The throttle state if a limit applies (made then), else nullptr.
    ThrottleState* throttle_state();
    // Time spent waiting for tokens since the last report, into the service's counter.
    void report_throttled();
    // The one line a connection logs when it ends (close()).
    void log_close(const std::string& how, uint64_t duration_ms);

    // Ends the connection: `how` goes into the close log line.
    void close(const std::string& how);
    // A fatal protocol error: the alert is already sealed; flush it briefly.
    void fail_after_alert(const std::string& how);

    Env& env_;
    uint64_t id_;
    std::shared_ptr<Service> service_;
    PeerAddress peer_;
    State state_ = State::accepted;
    uint64_t started_ms_ = 0;
    uint64_t last_activity_ms_ = 0;

    bool client_mode_;
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

    std::unique_ptr<RecordLayer> records_;
    IoBuffer tls_in_;     // ciphertext from the TLS peer
    IoBuffer plain_out_;  // plaintext waiting for the plain side
    IoBuffer tls_out_;    // sealed records waiting for the TLS peer

    // Half-close bookkeeping, one flag per direction and step.
    bool tls_read_done_ = false;  // close_notify or EOF from the TLS peer
    bool plain_write_shut_ = false;
    bool plain_read_done_ = false;  // EOF from the plain side
    bool close_notify_sent_ = false;
    bool tls_write_shut_ = false;
    bool failing_ = false;  // fatal alert sealed, flushing before close

    uint64_t bytes_from_tls_ = 0;
    uint64_t bytes_to_tls_ = 0;

    // Links: wire throttling, record sizing, key rotation.
    std::unique_ptr<ThrottleState> throttle_;  // only once a limit applies
    RecordSizer sizer_;
    bool admitted_ = false;
    uint64_t out_under_key_ = 0;  // plaintext sealed under our current write key
    uint64_t in_under_key_ = 0;   // plaintext opened under the peer's current key
    uint64_t our_key_since_ms_ = 0;
    uint64_t peer_key_since_ms_ = 0;
    uint64_t peer_updates_seen_ = 0;
    uint64_t throttled_reported_ms_ = 0;
    std::string sni_;
    std::string alpn_;
    std::string peer_cn_;  // the TLS peer's certificate CN, if it showed one
    std::string close_reason_;
};

}  // namespace tlsward::netproc
