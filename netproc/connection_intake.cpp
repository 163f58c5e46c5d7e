// A connection's intake: from accept to the helper's answer. Server mode
// with accept_proxy reads the load balancer's PROXY header first; then
// admission (limits), the wait for a complete ClientHello, the handshake
// job for the helpers, and what the helper answers. Every recv passes
// MSG_DONTWAIT (see record_pump.hpp: O_NONBLOCK is shared with a helper).
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "common/log_limiter.hpp"
#include "common/tls_suites.hpp"
#include "netproc/client_hello.hpp"
#include "netproc/connection.hpp"

namespace tlsward::netproc {

namespace {

// Refusals under overload come in floods: one line a second says how many.
LogLimiter g_refusal_log(1000);

bool transient(int e) {
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

}  // namespace

bool Connection::start() {
    int accepted = client_mode_ ? plain_fd_.get() : tls_fd_.get();
    set_nodelay(accepted);
    timer_.start(service_->config.handshake_timeout_ms + kHelperGraceMs);
    if (!client_mode_ && service_->config.accept_proxy) {
        // The real client is named by the load balancer's header: limits
        // apply to it, once it is read.
        state_ = State::proxy_header;
        watch_tls();
        tls_poll_->set_events(UV_READABLE);
        return true;
    }
    if (!admit()) return false;
    if (client_mode_) {
        connect_target();
    } else {
        await_client_hello();
    }
    return state_ != State::closed;
}

bool Connection::admit() {
    if (!env_.limits) return true;
    auto v = env_.limits->admit(service_->config.name, service_->config.link,
                                ConnectionLimits::source_key(peer_.full()));
    if (v != ConnectionLimits::Verdict::ok) {
        ++service_->counters.refused_limit;
        close({CloseKind::refused, strfmt("refused: %s reached", ConnectionLimits::name(v))});
        return false;
    }
    admitted_ = true;
    return true;
}

void Connection::read_proxy_header() {
    if (state_ != State::proxy_header) return;
    // Only bytes known to belong to the header are consumed: the ClientHello
    // after it must stay in the socket for the helper. What has arrived is
    // peeked; a valid prefix is consumed whole (all of it is header), a
    // complete header exactly up to its length.
    static uint8_t buf[proxy::kMaxHeader];
    size_t have = proxy_in_.size();
    ssize_t n = recv(tls_fd_.get(), buf, sizeof buf - have, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && transient(errno)) return;
    if (n <= 0) {
        close({CloseKind::proxy_header, n == 0 ? "PROXY header: client closed before sending it"
                                               : strfmt("PROXY header: %s", strerror(errno))});
        return;
    }
    std::vector<uint8_t> candidate = proxy_in_;
    candidate.insert(candidate.end(), buf, buf + n);
    auto parsed = proxy::parse(candidate);
    if (!parsed) {
        close({CloseKind::proxy_header, "PROXY header: " + parsed.message()});
        return;
    }
    size_t take = parsed->has_value() ? parsed->value().length - have : static_cast<size_t>(n);
    ssize_t got = recv(tls_fd_.get(), buf, take, MSG_DONTWAIT);
    if (got != static_cast<ssize_t>(take)) {
        close({CloseKind::proxy_header, "PROXY header: short read"});
        return;
    }
    if (!parsed->has_value()) {
        proxy_in_.insert(proxy_in_.end(), buf, buf + take);
        return;
    }
    const proxy::Header& h = parsed->value();
    if (!h.local) {
        peer_ = PeerAddress(h.source);
        local_ = std::make_unique<SocketAddress>(h.destination);
    }
    proxy_in_ = std::vector<uint8_t>();
    // The watch stays: the ClientHello comes next on the same socket.
    if (!admit()) return;
    await_client_hello();
}

void Connection::await_client_hello() {
    state_ = State::awaiting_hello;
    // Most clients send the ClientHello with their first segment: look
    // before setting up a watch (two system calls fewer per connection).
    check_client_hello();
    if (state_ != State::awaiting_hello) return;
    // The client has until the handshake deadline itself (no helper grace).
    uint64_t used = uv_now(env_.loop) - started_ms_;
    uint64_t deadline = service_->config.handshake_timeout_ms;
    timer_.start(used < deadline ? deadline - used : 1);
    // Edge-triggered: the ClientHello is peeked, never consumed, so a level-
    // triggered watch would report a half-sent one on every turn of the
    // loop. 5,000 slowloris clients holding half a ClientHello each kept
    // netproc busy peeking until their deadline, and an established
    // connection's ping went from 0.3 to 5-15 ms. Each new segment (or the
    // client's FIN) is one edge.
    watch_tls();
    tls_poll_->set_events(UV_READABLE | UV_DISCONNECT, /*edge=*/true);
}

void Connection::check_client_hello(bool peer_done) {
    if (state_ != State::awaiting_hello) return;
    // Peeked, never consumed: the helper reads the record itself.
    static uint8_t buf[kClientHelloPeek];
    ssize_t n = recv(tls_fd_.get(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && transient(errno)) return;
    if (n <= 0) {
        // Counted and worded like the helper's failures (peer_closed,
        // io_error), so that logs and metrics do not depend on which
        // process saw the client go.
        bool closed = n == 0 || errno == ECONNRESET;
        auto reason = closed ? ipc::FailReason::peer_closed : ipc::FailReason::io_error;
        handshake_failed(
            static_cast<size_t>(reason),
            {CloseKind::handshake_failed,
             closed ? std::string("handshake failed: peer_closed before its ClientHello arrived")
                    : strfmt("handshake failed: io_error before the ClientHello: %s",
                             strerror(errno))});
        return;
    }
    if (!client_hello_ready(std::span<const uint8_t>(buf, static_cast<size_t>(n)))) {
        // The client sent its FIN with half a ClientHello: it never completes.
        if (peer_done)
            handshake_failed(static_cast<size_t>(ipc::FailReason::peer_closed),
                             {CloseKind::handshake_failed,
                              "handshake failed: peer_closed before its ClientHello was complete"});
        return;
    }
    tls_poll_.reset();
    submit_handshake();
}

void Connection::submit_handshake() {
    HandshakeRequest req;
    req.conn_id = id_;
    req.fd = tls_fd_.get();
    req.job.conn_id = id_;
    req.job.service_id = service_->config.id;
    req.job.role = service_->config.mode;
    req.job.server_name = service_->config.server_name;
    // The helper gets what is left of the handshake deadline, which runs
    // from accept (a PROXY header or a client-mode connect used some).
    uint64_t used = uv_now(env_.loop) - started_ms_;
    uint64_t deadline = service_->config.handshake_timeout_ms;
    req.job.deadline_ms = static_cast<uint32_t>(used < deadline ? deadline - used : 1);
    req.job.aead_mask = ipc::kAeadAll;
    uint64_t req_deadline_ms = req.job.deadline_ms;
    auto r = env_.helpers->submit(std::move(req));
    if (r == HelperPool::Submit::refused || r == HelperPool::Submit::shed) {
        bool full = r == HelperPool::Submit::refused;
        ++(full ? service_->counters.refused_queue_full : service_->counters.refused_shed);
        if (g_refusal_log.allow(uv_now(env_.loop)))
            LOG_WARN("event=refused reason=%s service=%s peer=%s queued=%zu suppressed=%llu",
                     full ? "handshake_queue_full" : "helpers_overloaded",
                     service_->config.name.c_str(), peer_.to_string().c_str(),
                     env_.helpers->queue_depth(),
                     static_cast<unsigned long long>(g_refusal_log.take_suppressed()));
        close({CloseKind::refused,
               full ? "refused: handshake queue full"
                    : "refused: helpers overloaded (would miss its handshake deadline)"});
        return;
    }
    state_ = State::handshaking;
    timer_.start(req_deadline_ms + kHelperGraceMs);
}

void Connection::handshake_failed(size_t slot, const CloseReason& why) {
    ++service_->counters.handshakes_failed;
    if (slot < kHandshakeFailureSlots) ++service_->counters.failed_by_reason[slot];
    close(why);
}

void Connection::on_handshake_failed(const ipc::HandshakeFailed& f) {
    std::string how = strfmt("handshake failed: %s", ipc::fail_reason_name(f.reason));
    if (f.alert != 0 || f.reason == ipc::FailReason::alert_sent ||
        f.reason == ipc::FailReason::alert_received)
        how += strfmt(" alert=%s", alert_name(f.alert));
    if (!f.detail.empty()) how += " (" + f.detail + ")";
    handshake_failed(static_cast<size_t>(f.reason), {CloseKind::handshake_failed, how});
}

void Connection::on_handshake_done(ipc::HandshakeDone&& handoff) {
    if (state_ != State::handshaking) return;
    auto rl = RecordLayer::create(handoff, /*we_are_server=*/!client_mode_);
    if (service_->config.proxy_protocol != ipc::ProxyVersion::none && rl)
        proxy_tls_ = std::make_unique<proxy::TlsInfo>(proxy::tls_info(handoff));
    handoff.client_secret.wipe();
    handoff.server_secret.wipe();
    if (!rl) {
        handshake_failed(static_cast<size_t>(HandshakeFailure::handoff_rejected),
                         {CloseKind::handshake_failed, "hand-off rejected: " + rl.message()});
        return;
    }
    ++service_->counters.handshakes_ok;
    RecordPump::Context ctx;
    ctx.buffers = env_.buffers;
    ctx.link = &service_->config.link;
    ctx.counters = &service_->counters;
    ctx.record_sizes = env_.metrics ? &env_.metrics->record_sizes : nullptr;
    ctx.gate = this;
    ctx.client_mode = client_mode_;
    pump_.emplace(ctx, tls_fd_.get(), std::move(rl.value()), uv_now(env_.loop));
    sni_ = std::move(handoff.sni);
    alpn_ = std::move(handoff.alpn);
    peer_cn_ = std::move(handoff.peer_cn);
    if (!handoff.leftover.empty()) (void)pump_->add_tls_input(handoff.leftover);
    LOG_DEBUG(
        "event=handshake_done conn=%llu service=%s version=%s suite=%s sni=\"%s\" "
        "alpn=\"%s\" helper_ms=%llu",
        static_cast<unsigned long long>(id_), service_->config.name.c_str(),
        tls_version_name(pump_->records().version()), pump_->records().suite().name, sni_.c_str(),
        alpn_.c_str(), static_cast<unsigned long long>(uv_now(env_.loop) - started_ms_));
    if (client_mode_) {
        on_connected();  // both sides are connected already
    } else {
        connect_target();
    }
}

}  // namespace tlsward::netproc
