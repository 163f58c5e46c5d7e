// A connection's life around its jobs: the watches and what their events
// start, the one timer (handshake, connect, activity, linger), wire
// throttling, and the close. Intake is connection_intake.cpp, the target
// target_connect.cpp, the data path record_pump.cpp.
#include "netproc/connection.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace tlsward::netproc {

namespace {

// How long a fatal alert or a final close_notify may take to drain before
// the socket is closed anyway.
constexpr uint64_t kLingerMs = 2000;
// Once one side of a connection is done, how long the other may stay
// silent before the connection is closed anyway.
constexpr uint64_t kHalfClosedMs = 60000;

}  // namespace

Connection::Connection(Env& env, uint64_t id, std::shared_ptr<Service> service, UniqueFd accepted,
                       const SocketAddress& peer)
    : env_(env),
      id_(id),
      service_(std::move(service)),
      peer_(peer),
      client_mode_(service_->config.mode == ipc::TlsRole::client),
      timer_(env.loop, [this] { on_timer(); }) {
    (client_mode_ ? plain_fd_ : tls_fd_) = std::move(accepted);
    started_ms_ = uv_now(env_.loop);
    ++service_->counters.connections_total;
    ++service_->counters.connections_open;
    const ipc::LinkSettings& link = service_->config.link;
    if (link.connection_read.rate != 0 || link.connection_write.rate != 0) make_throttle_state();
}

Connection::~Connection() {
    if (state_ != State::closed) close({CloseKind::internal, "destroyed"});
}

std::string Connection::socket_error(int fd, int status) const {
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
        if (soerr == ECONNRESET) return "connection reset";
        return strerror(soerr);
    }
    return uv_strerror(status);
}

// --- wire throttling ----------------------------------------------------------

void Connection::make_throttle_state() {
    const ipc::LinkSettings& link = service_->config.link;
    throttle_ = std::make_unique<ThrottleState>();
    throttle_->own[0].configure(link.connection_read, started_ms_);
    throttle_->own[1].configure(link.connection_write, started_ms_);
    throttle_->service = service_->buckets;
    throttle_->wake = [this] { on_throttle_wake(); };
}

ThrottleState* Connection::throttle_state() {
    // Made when a limit first applies (a reload may add a service or global
    // limit to running connections): 176 bytes most connections never need.
    if (!throttle_ && env_.throttle->limits(service_->buckets.get())) make_throttle_state();
    return throttle_.get();
}

size_t Connection::allowance(Direction d, size_t want) {
    ThrottleState* t = throttle_state();
    return t ? env_.throttle->allowance(*t, d, want) : want;
}

void Connection::consumed(Direction d, size_t n) {
    if (throttle_) env_.throttle->consumed(*throttle_, d, n);
}

bool Connection::waiting(Direction d) const {
    return throttle_ && throttle_->waiting[static_cast<size_t>(d)];
}

void Connection::report_throttled() {
    if (!throttle_) return;
    service_->counters.throttled_ms += throttle_->throttled_ms - throttled_reported_ms_;
    throttled_reported_ms_ = throttle_->throttled_ms;
}

void Connection::on_throttle_wake() {
    if (state_ == State::closed) return;
    report_throttled();
    if (pump_) pump_->flush();
    if (pump_ && !after_pump()) return;
    update_interest();
    check_finished();
}

// --- watches and their events ---------------------------------------------------

void Connection::watch_tls() {
    // One watch on the TLS socket serves every state, so a connection
    // carries one (not one for set-up and one for proxying). It is dropped
    // while the socket is lent to a helper, which polls it then.
    if (tls_poll_) return;
    tls_poll_.emplace(*env_.poller, tls_fd_.get(), [this](int status, int events) {
        switch (state_) {
            case State::proxy_header:
                read_proxy_header();
                break;
            case State::awaiting_hello:
                check_client_hello((events & UV_DISCONNECT) != 0);
                break;
            // Client mode: the TLS target's connect (server mode connects
            // the plain side, on its own watch).
            case State::connecting:
                if (client_mode_) {
                    on_target_connect_event(status);
                    break;
                }
                [[fallthrough]];
            default:
                on_tls_event(status, events);
        }
    });
}

void Connection::make_plain_poll() {
    plain_poll_.emplace(*env_.poller, plain_fd_.get(), [this](int st, int ev) {
        if (state_ == State::connecting)
            on_target_connect_event(st);
        else
            on_plain_event(st, ev);
    });
}

void Connection::on_plain_event(int status, int events) {
    if (state_ != State::proxying) return;
    if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) {
        close({CloseKind::io_error, strfmt("%s socket error: %s", plain_side(),
                                           socket_error(plain_fd_.get(), status).c_str())});
        return;
    }
    pump_->on_plain_ready(events, uv_now(env_.loop));
    if (!after_pump()) return;
    update_interest();
    check_finished();
    release_idle_memory();
}

void Connection::on_tls_event(int status, int events) {
    if (state_ != State::proxying && !failing()) return;
    if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) {
        close({CloseKind::io_error, strfmt("%s socket error: %s", tls_side(),
                                           socket_error(tls_fd_.get(), status).c_str())});
        return;
    }
    pump_->on_tls_ready(events, uv_now(env_.loop));
    if (!after_pump()) return;
    update_interest();
    check_finished();
    release_idle_memory();
}

bool Connection::after_pump() {
    if (state_ == State::closed) return false;
    if (pump_->ended()) {
        close(*pump_->reason());
        return false;
    }
    if (pump_->failing()) {
        if (lingering_) return true;
        // The alert drains for a while; nothing else moves.
        lingering_ = true;
        watch_tls();
        if (plain_poll_) plain_poll_->set_events(0);
        tls_poll_->set_events(UV_WRITABLE);
        timer_.start(kLingerMs);
        return true;
    }
    if (pump_->shut_count() != shut_seen_) {
        // A side is shut: the half-closed limit may be shorter.
        shut_seen_ = pump_->shut_count();
        if (state_ == State::proxying) arm_activity_timer();
    }
    return true;
}

void Connection::update_interest() {
    if (state_ == State::closed || !tls_poll_ || (state_ != State::proxying && !failing())) return;
    // Without a watch this connection would never be woken again (it may
    // have no timer while proxying): the kernel's refusal ends it.
    auto watch = [&](std::optional<FdWatch>& w, int events) {
        if (w && !w->set_events(events))
            close({CloseKind::internal, "cannot watch a socket (epoll_ctl failed)"});
    };
    RecordPump::Interest want = pump_->interest(uv_now(env_.loop));
    watch(tls_poll_, want.tls);
    if (state_ == State::closed) return;
    watch(plain_poll_, want.plain);
}

void Connection::check_finished() {
    if (state_ != State::proxying || !pump_->finished()) return;
    const auto& why = pump_->reason();
    close(why ? *why : CloseReason{CloseKind::done, "done"});
}

void Connection::release_idle_memory() {
    if (state_ == State::proxying) pump_->release_idle_memory();
}

// --- the timer --------------------------------------------------------------------

uint64_t Connection::activity_limit_ms() const {
    uint64_t limit = service_->config.idle_timeout_ms;
    // Once one side has finished, the other gets a bounded while to finish
    // too (measured from the last byte moved, so a long response after the
    // client's close_notify is not cut off).
    if (pump_->shut_count() > 0 && (limit == 0 || limit > kHalfClosedMs)) limit = kHalfClosedMs;
    return limit;
}

void Connection::arm_activity_timer() {
    uint64_t limit = activity_limit_ms();
    if (limit == 0) {
        timer_.stop();
        return;
    }
    uint64_t since = uv_now(env_.loop) - pump_->last_activity_ms();
    timer_.start(since < limit ? limit - since : 0);
}

void Connection::on_timer() {
    if (failing()) {
        // The alert did not drain within the linger time.
        close({CloseKind::alert_not_flushed, pump_->reason()->text + " (alert not flushed)"});
        return;
    }
    switch (state_) {
        case State::accepted:
        case State::proxy_header:
            close({CloseKind::proxy_header,
                   "PROXY header: not received within the handshake timeout"});
            return;
        case State::awaiting_hello:
            handshake_failed(
                static_cast<size_t>(ipc::FailReason::timeout),
                {CloseKind::handshake_failed,
                 "handshake timeout: the ClientHello did not arrive (no helper was used)"});
            return;
        case State::handshaking:
            handshake_failed(
                static_cast<size_t>(HandshakeFailure::helper_timeout),
                {CloseKind::handshake_failed, "handshake timeout (helper did not answer)"});
            return;
        case State::connecting: {
            CloseReason how{CloseKind::target_unreachable,
                            strfmt("connect to target %s timed out",
                                   service_->config.target.to_string().c_str())};
            if (pump_)
                close_notify_and_fail(std::move(how));
            else
                close(how);
            return;
        }
        case State::proxying: {
            uint64_t limit = activity_limit_ms();
            uint64_t since = uv_now(env_.loop) - pump_->last_activity_ms();
            if (limit == 0) return;
            if (since < limit) {
                timer_.start(limit - since);
                return;
            }
            if (pump_->shut_count() > 0) {
                const auto& first = pump_->reason();
                close({CloseKind::half_closed_timeout,
                       first ? first->text + ", then timeout" : "half-closed timeout"});
                return;
            }
            close_notify_and_fail({CloseKind::idle_timeout, "idle timeout"});
            return;
        }
        case State::closed:
            return;
    }
}

// --- the end ------------------------------------------------------------------------

void Connection::finish() {
    switch (state_) {
        case State::proxying:
            close_notify_and_fail({CloseKind::shutting_down, "shutting down"});
            return;
        case State::closed:
            return;
        default:
            close({CloseKind::shutting_down, "shutting down"});
            return;
    }
}

void Connection::close_notify_and_fail(CloseReason why) {
    if (state_ == State::closed) return;
    pump_->close_notify_and_fail(std::move(why));
    after_pump();
}

void Connection::close(const CloseReason& why) {
    if (state_ == State::closed) return;
    State was = state_;
    state_ = State::closed;
    timer_.stop();
    if (throttle_) env_.throttle->forget(*throttle_);
    if (admitted_)
        env_.limits->release(service_->config.name, ConnectionLimits::source_key(peer_.full()));
    tls_poll_.reset();
    plain_poll_.reset();
    if (was == State::handshaking) {
        env_.helpers->cancel(id_);
        // The helper may still hold the socket: shutdown ends the
        // connection for every holder, close alone would not.
        if (tls_fd_) shutdown(tls_fd_.get(), SHUT_RDWR);
    }
    tls_fd_.reset();
    plain_fd_.reset();
    --service_->counters.connections_open;

    report_throttled();
    uint64_t now = uv_now(env_.loop);
    CloseRecord line;
    line.conn_id = id_;
    line.service = service_->config.name.c_str();
    line.peer = peer_.to_string();
    line.duration_ms = now - started_ms_;
    line.log_connections = service_->config.log_connections;
    if (pump_) {
        line.records = &pump_->records();
        line.sni = sni_.c_str();
        line.alpn = alpn_.c_str();
        line.peer_cn = peer_cn_.c_str();
        line.bytes_in = pump_->bytes_from_tls();
        line.bytes_out = pump_->bytes_to_tls();
        line.after_alert = pump_->failing();
    }
    log_close(why, line, now);
    // The buffers go back to the pool (wiped) with the record layer's keys
    // (`why` may be the pump's own reason: not used from here on).
    pump_.reset();
    if (env_.closed) env_.closed(this);
}

}  // namespace tlsward::netproc
