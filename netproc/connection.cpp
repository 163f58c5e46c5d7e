#include "netproc/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "common/log_limiter.hpp"
#include "netproc/client_hello.hpp"

namespace tlsward::netproc {

namespace {

// How long a fatal alert or a final close_notify may take to drain before
// the socket is closed anyway.
constexpr uint64_t kLingerMs = 2000;
// Once one side of a connection is done, how long the other may stay
// silent before the connection is closed anyway.
constexpr uint64_t kHalfClosedMs = 60000;
// Grace beyond the helper's own deadline before netproc takes the socket
// back by force (the helper normally answers "timeout" first).
constexpr uint64_t kHelperGraceMs = 1000;
// Records filled by one recvmsg from the target at most (a 128 KiB block
// holds seven full ones; small records at the start of a burst are more).
constexpr size_t kRecordsPerRead = 8;

const char* version_name(uint16_t v) {
    return v == kTls13 ? "TLSv1.3" : "TLSv1.2";
}

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Refusals under overload come in floods: one line a second says how many.
LogLimiter g_refusal_log(1000);
// So do connections that never finish a handshake (scanners, a broken
// client fleet): the first 20 a second are logged in full, the rest counted
// and the count carried by the next line that is written.
LogBudget g_failure_log(1000, 20);

bool transient(int e) {
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

}  // namespace

uint64_t connection_log_lines_suppressed() {
    return g_failure_log.suppressed_total();
}

Connection::Connection(Env& env, uint64_t id, std::shared_ptr<Service> service, UniqueFd accepted,
                       const SocketAddress& peer)
    : env_(env),
      id_(id),
      service_(std::move(service)),
      peer_(peer),
      client_mode_(service_->config.mode == ipc::TlsRole::client),
      timer_(env.loop, [this] { on_timer(); }),
      tls_in_(env.buffers),
      plain_out_(env.buffers),
      tls_out_(env.buffers),
      sizer_(service_->config.link) {
    (client_mode_ ? plain_fd_ : tls_fd_) = std::move(accepted);
    started_ms_ = last_activity_ms_ = uv_now(env_.loop);
    ++service_->counters.connections_total;
    ++service_->counters.connections_open;
    const ipc::LinkSettings& link = service_->config.link;
    if (link.connection_read.rate != 0 || link.connection_write.rate != 0) make_throttle_state();
}

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

Connection::~Connection() {
    if (state_ != State::closed) close("destroyed");
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
        close(strfmt("refused: %s reached", ConnectionLimits::name(v)));
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
    ssize_t n = recv(tls_fd_.get(), buf, sizeof buf - have, MSG_PEEK);
    if (n < 0 && transient(errno)) return;
    if (n <= 0) {
        close(n == 0 ? "PROXY header: client closed before sending it"
                     : strfmt("PROXY header: %s", strerror(errno)));
        return;
    }
    std::vector<uint8_t> candidate = proxy_in_;
    candidate.insert(candidate.end(), buf, buf + n);
    auto parsed = proxy::parse(candidate);
    if (!parsed) {
        close("PROXY header: " + parsed.message());
        return;
    }
    size_t take = parsed->has_value() ? parsed->value().length - have : static_cast<size_t>(n);
    ssize_t got = recv(tls_fd_.get(), buf, take, 0);
    if (got != static_cast<ssize_t>(take)) {
        close("PROXY header: short read");
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
    ssize_t n = recv(tls_fd_.get(), buf, sizeof buf, MSG_PEEK);
    if (n < 0 && transient(errno)) return;
    if (n <= 0) {
        // Counted and worded like the helper's failures (peer_closed,
        // io_error), so that logs and metrics do not depend on which
        // process saw the client go.
        bool closed = n == 0 || errno == ECONNRESET;
        auto reason = closed ? ipc::FailReason::peer_closed : ipc::FailReason::io_error;
        ++service_->counters.handshakes_failed;
        ++service_->counters.failed_by_reason[static_cast<size_t>(reason)];
        close(closed ? std::string("handshake failed: peer_closed before its ClientHello arrived")
                     : strfmt("handshake failed: io_error before the ClientHello: %s",
                              strerror(errno)));
        return;
    }
    if (!first_record_complete(std::span<const uint8_t>(buf, static_cast<size_t>(n)))) {
        // The client sent its FIN with half a ClientHello: it never completes.
        if (peer_done) {
            ++service_->counters.handshakes_failed;
            ++service_->counters
                  .failed_by_reason[static_cast<size_t>(ipc::FailReason::peer_closed)];
            close("handshake failed: peer_closed before its ClientHello was complete");
        }
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
        close(full ? "refused: handshake queue full"
                   : "refused: helpers overloaded (would miss its handshake deadline)");
        return;
    }
    state_ = State::handshaking;
    timer_.start(req_deadline_ms + kHelperGraceMs);
}

void Connection::on_handshake_failed(const ipc::HandshakeFailed& f) {
    ++service_->counters.handshakes_failed;
    size_t slot = static_cast<size_t>(f.reason);
    if (slot < kHandshakeFailureSlots) ++service_->counters.failed_by_reason[slot];
    std::string how = strfmt("handshake failed: %s", ipc::fail_reason_name(f.reason));
    if (f.alert != 0 || f.reason == ipc::FailReason::alert_sent ||
        f.reason == ipc::FailReason::alert_received)
        how += strfmt(" alert=%s", alert_name(f.alert));
    if (!f.detail.empty()) how += " (" + f.detail + ")";
    close(how);
}

void Connection::on_handshake_done(ipc::HandshakeDone&& handoff) {
    if (state_ != State::handshaking) return;
    auto rl = RecordLayer::create(handoff, /*we_are_server=*/!client_mode_);
    if (service_->config.proxy_protocol != ipc::ProxyVersion::none && rl)
        proxy_tls_ = std::make_unique<proxy::TlsInfo>(proxy::tls_info(handoff));
    handoff.client_secret.wipe();
    handoff.server_secret.wipe();
    if (!rl) {
        ++service_->counters.handshakes_failed;
        ++service_->counters
              .failed_by_reason[static_cast<size_t>(HandshakeFailure::handoff_rejected)];
        close("hand-off rejected: " + rl.message());
        return;
    }
    records_ = std::move(rl.value());
    ++service_->counters.handshakes_ok;
    our_key_since_ms_ = peer_key_since_ms_ = uv_now(env_.loop);
    sni_ = std::move(handoff.sni);
    alpn_ = std::move(handoff.alpn);
    peer_cn_ = std::move(handoff.peer_cn);
    if (!handoff.leftover.empty()) tls_in_.append(handoff.leftover);
    LOG_DEBUG(
        "event=handshake_done conn=%llu service=%s version=%s suite=%s sni=\"%s\" "
        "alpn=\"%s\" helper_ms=%llu",
        static_cast<unsigned long long>(id_), service_->config.name.c_str(),
        version_name(records_->version()), records_->suite().name, sni_.c_str(), alpn_.c_str(),
        static_cast<unsigned long long>(uv_now(env_.loop) - started_ms_));
    if (client_mode_) {
        on_connected();  // both sides are connected already
    } else {
        connect_target();
    }
}

// Server mode: the plaintext target, after the handshake. Client mode: the
// TLS target, before it (the helper has no socket of its own).
void Connection::connect_target() {
    state_ = State::connecting;
    const SocketAddress& target = service_->config.target;
    int fd = socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return target_failed(strfmt("socket: %s", strerror(errno)));
    (client_mode_ ? tls_fd_ : plain_fd_).reset(fd);
    if (target.family() != AF_UNIX) set_nodelay(fd);
    int rc;
    do {
        rc = ::connect(fd, target.sa(), target.length);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EINPROGRESS) return target_failed(strerror(errno));
    timer_.start(service_->config.connect_timeout_ms);
    if (rc == 0) {
        on_target_connect_event(0);
        return;
    }
    if (client_mode_) {
        // The TLS socket's watch, dropped before the socket is lent.
        watch_tls();
        tls_poll_->set_events(UV_WRITABLE);
    } else {
        // The target's watch serves the whole connection (one set-up and
        // one tear-down per connection).
        make_plain_poll();
        plain_poll_->set_events(UV_WRITABLE);
    }
}

void Connection::target_failed(const std::string& why) {
    std::string how = strfmt("connect to target %s failed: %s",
                             service_->config.target.to_string().c_str(), why.c_str());
    if (records_) {
        // The client has done its handshake: tell it we are closing.
        (void)records_->seal_alert(Alert::close_notify, tls_out_);
        close_notify_sent_ = true;
        fail_after_alert(how);
    } else {
        close(how);
    }
}

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

void Connection::on_target_connect_event(int status) {
    if (state_ != State::connecting) return;
    int fd = client_mode_ ? tls_fd_.get() : plain_fd_.get();
    // SO_ERROR even when the watch reported an error (status < 0): it says
    // which one (a refused connect shows as EPOLLERR; errno is stale then).
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
    if (status < 0 || soerr != 0) {
        target_failed(soerr != 0 ? strerror(soerr) : uv_strerror(status));
        return;
    }
    // Stop watching before the socket is lent: the helper polls it next.
    tls_poll_.reset();
    if (client_mode_) {
        timer_.start(service_->config.handshake_timeout_ms + kHelperGraceMs);
        submit_handshake();
    } else {
        on_connected();
    }
}

void Connection::on_connected() {
    state_ = State::proxying;
    touch();
    arm_activity_timer();
    if (proxy_tls_) {
        // The backend learns who the client is before the first byte of data.
        // The address the client connected to: the load balancer's header
        // named it, or the socket knows it (asked only here, not for every
        // connection).
        SocketAddress local;
        if (local_) {
            local = *local_;
        } else {
            local.length = sizeof local.storage;
            if (getsockname(tls_fd_.get(), local.sa(), &local.length) != 0) local = SocketAddress{};
        }
        auto header =
            proxy::encode(service_->config.proxy_protocol, peer_.full(), local, proxy_tls_.get());
        proxy_tls_.reset();
        if (!plain_out_.append(header)) {
            close("PROXY header does not fit the buffer");
            return;
        }
    }
    watch_tls();
    if (!plain_poll_) make_plain_poll();
    // Bytes the helper read past the handshake are the first records.
    pump_inbound();
    if (state_ == State::closed) return;
    update_interest();
}

void Connection::on_plain_event(int status, int events) {
    if (state_ != State::proxying) return;
    if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) {
        close(strfmt("%s socket error: %s", plain_side(),
                     socket_error(plain_fd_.get(), status).c_str()));
        return;
    }
    if (events & UV_WRITABLE) pump_inbound();
    if (state_ == State::closed) return;
    if (events & (UV_READABLE | UV_DISCONNECT)) read_plain();
    if (state_ == State::closed) return;
    update_interest();
    check_finished();
    release_idle_memory();
}

void Connection::on_tls_event(int status, int events) {
    if (state_ != State::proxying && !failing_) return;
    if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) {
        close(
            strfmt("%s socket error: %s", tls_side(), socket_error(tls_fd_.get(), status).c_str()));
        return;
    }
    if (events & UV_WRITABLE) flush_tls();
    if (state_ == State::closed) return;
    if (events & (UV_READABLE | UV_DISCONNECT)) read_tls();
    if (state_ == State::closed) return;
    update_interest();
    check_finished();
    release_idle_memory();
}

void Connection::release_idle_memory() {
    // Buffers went back to the pool as they emptied; the AEAD contexts go
    // too once nothing at all is waiting (idle connections are the many).
    if (state_ == State::proxying && records_ && tls_in_.empty() && tls_out_.empty() &&
        plain_out_.empty())
        records_->release_idle_memory();
}

void Connection::touch() {
    last_activity_ms_ = uv_now(env_.loop);
}

bool Connection::half_closed() const {
    return plain_write_shut_ || tls_write_shut_;
}

uint64_t Connection::activity_limit_ms() const {
    uint64_t limit = service_->config.idle_timeout_ms;
    // Once one side has finished, the other gets a bounded while to finish
    // too (measured from the last byte moved, so a long response after the
    // client's close_notify is not cut off).
    if (half_closed() && (limit == 0 || limit > kHalfClosedMs)) limit = kHalfClosedMs;
    return limit;
}

void Connection::arm_activity_timer() {
    uint64_t limit = activity_limit_ms();
    if (limit == 0) {
        timer_.stop();
        return;
    }
    uint64_t since = uv_now(env_.loop) - last_activity_ms_;
    timer_.start(since < limit ? limit - since : 0);
}

void Connection::read_tls() {
    if (tls_read_done_ || failing_) return;
    auto w = tls_in_.writable(1);
    if (w.empty()) return;
    ThrottleState* throttle = throttle_state();
    size_t allowed =
        throttle ? env_.throttle->allowance(*throttle, Direction::read, w.size()) : w.size();
    if (allowed == 0) return;  // out of tokens: reads resume on the throttle's tick
    ssize_t n = recv(tls_fd_.get(), w.data(), allowed, 0);
    if (n > 0) {
        if (throttle) env_.throttle->consumed(*throttle, Direction::read, static_cast<size_t>(n));
        tls_in_.commit(static_cast<size_t>(n));
        touch();
        pump_inbound();
        return;
    }
    if (n < 0 && transient(errno)) return;
    if (n < 0 && errno != ECONNRESET) {
        close(strfmt("recv from %s: %s", tls_side(), strerror(errno)));
        return;
    }
    // EOF or reset without close_notify: the peer is gone mid-stream. What
    // it sent is delivered; a partial record is lost (and logged).
    tls_read_done_ = true;
    if (n < 0) {
        close(strfmt("reset by %s", tls_side()));
        return;
    }
    close_reason_ = strfmt(tls_in_.empty() ? "%s closed without close_notify"
                                           : "%s closed inside a record (truncated)",
                           tls_side());
    tls_in_.consume(tls_in_.size());
    pump_inbound();
}

void Connection::pump_inbound() {
    // Opening records and draining plaintext to the target alternate: a
    // drained plain_out_ makes room for records still waiting in tls_in_.
    // Bounded rounds keep one connection's turn short.
    for (int round = 0; round < 8; ++round) {
        bool opened = false;
        if (records_ && !failing_ && !tls_read_done_ && !tls_in_.empty()) {
            size_t before = tls_in_.size();
            auto r = records_->read_records(tls_in_, plain_out_, tls_out_);
            bytes_from_tls_ += r.app_bytes;
            service_->counters.bytes_from_tls += r.app_bytes;
            in_under_key_ += r.app_bytes;
            if (records_->stats().key_updates_in != peer_updates_seen_) {
                service_->counters.key_updates_received +=
                    records_->stats().key_updates_in - peer_updates_seen_;
                peer_updates_seen_ = records_->stats().key_updates_in;
                in_under_key_ = 0;
                peer_key_since_ms_ = uv_now(env_.loop);
            }
            opened = tls_in_.size() != before;
            if (r.outcome == RecordLayer::ReadOutcome::close_notify) {
                tls_read_done_ = true;
                if (close_reason_.empty())
                    close_reason_ = strfmt("%s sent close_notify", tls_side());
                tls_in_.consume(tls_in_.size());
            } else if (r.outcome == RecordLayer::ReadOutcome::fatal) {
                if (r.from_peer)
                    fail_after_alert(strfmt("%s sent alert %s", tls_side(), alert_name(r.alert)));
                else
                    fail_after_alert(strfmt("protocol error, sent alert %s: %s",
                                            alert_name(r.alert), r.detail.c_str()));
                return;
            }
        }
        if (state_ != State::proxying) break;  // connecting: plaintext waits
        bool drained = false;
        while (!plain_out_.empty()) {
            auto data = plain_out_.readable();
            ssize_t n = send(plain_fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (transient(errno)) break;
                close(strfmt("send to %s: %s", plain_side(), strerror(errno)));
                return;
            }
            plain_out_.consume(static_cast<size_t>(n));
            drained = true;
        }
        // Go on while something moved and the target still takes bytes: a
        // drained plain_out_ is room for the records waiting in tls_in_.
        if (!plain_out_.empty() || tls_in_.empty() || (!opened && !drained)) break;
    }
    if (state_ == State::proxying && plain_out_.empty() && tls_read_done_ && !plain_write_shut_) {
        shutdown(plain_fd_.get(), SHUT_WR);
        plain_write_shut_ = true;
        arm_activity_timer();
    }
    maybe_rotate_keys();
    flush_tls();
}

void Connection::read_plain() {
    if (plain_read_done_ || failing_ || !records_->can_write()) return;
    const size_t overhead = records_->overhead();
    const size_t prefix = records_->prefix_len();
    const uint64_t now = uv_now(env_.loop);
    const size_t size = sizer_.next(now, overhead, records_->max_plaintext());
    const size_t slot = size + overhead;
    const size_t reserve = RecordLayer::reserve_for_control();
    auto w = tls_out_.writable(slot + reserve);
    if (w.size() < slot + reserve) {
        flush_tls();
        return;
    }
    // recvmsg fills the payloads of several records laid out back to back
    // in tls_out_, each sealed in place afterwards: one system call per up
    // to kRecordsPerRead records rather than one per record. Records are not
    // padded, so a sealed record ends exactly where the next slot begins.
    // Reading goes on until the target has nothing more queued, so that
    // several small writes become one record; but one batch per turn, so
    // one busy connection cannot hold the loop (the poll fires again while
    // data is waiting).
    const size_t slots = std::min(kRecordsPerRead, (w.size() - reserve) / slot);
    const size_t room = slots * size;
    size_t got = 0;
    bool eof = false;
    int error = 0;
    while (got < room) {
        std::array<iovec, kRecordsPerRead> iov{};
        size_t first = got / size;
        size_t count = 0;
        for (size_t i = first; i < slots; ++i) {
            size_t skip = i == first ? got % size : 0;
            iov[count++] = {w.data() + i * slot + prefix + skip, size - skip};
        }
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = count;
        ssize_t n = recvmsg(plain_fd_.get(), &msg, 0);
        if (n > 0) {
            got += static_cast<size_t>(n);
            continue;
        }
        if (n == 0 || !transient(errno)) {
            eof = true;
            error = n == 0 ? 0 : errno;
        }
        break;
    }
    const bool moved = got > 0;
    while (got > 0) {
        size_t len = std::min(got, size);
        auto s = records_->seal_in_place(tls_out_, len);
        if (!s) {
            close("sealing a record: " + s.message());
            return;
        }
        got -= len;
        sizer_.sent(len, now);
        if (env_.metrics) env_.metrics->record_sizes.observe(len);
        bytes_to_tls_ += len;
        out_under_key_ += len;
        service_->counters.bytes_to_tls += len;
    }
    if (moved) {
        touch();
        // After the batch, not between its records: a KeyUpdate appended
        // mid-batch would land on the next record's slot.
        maybe_rotate_keys();
        if (state_ == State::closed || failing_) return;
    }
    if (eof) {
        // The target is done; what was read goes out with close_notify.
        if (close_reason_.empty())
            close_reason_ = error != 0 ? strfmt("%s: %s", plain_side(), strerror(error))
                                       : strfmt("%s closed", plain_side());
        plain_read_done_ = true;
        if (!close_notify_sent_ && records_->can_write()) {
            (void)records_->seal_alert(Alert::close_notify, tls_out_);
            close_notify_sent_ = true;
        }
    }
    flush_tls();
}

void Connection::maybe_rotate_keys() {
    if (!records_ || failing_ || !records_->can_write()) return;
    const ipc::LinkSettings& link = service_->config.link;
    if (records_->version() != kTls13) {
        // TLS 1.2 cannot rekey: end the connection cleanly at the limit.
        if (records_->write_key_exhausted()) {
            (void)records_->seal_alert(Alert::close_notify, tls_out_);
            close_notify_sent_ = true;
            fail_after_alert("TLS 1.2 key usage limit reached");
        }
        return;
    }
    uint64_t now = uv_now(env_.loop);
    // Due at `share` of the configured volume or age (1: due; 2: half-way).
    auto due = [&](uint64_t bytes, uint64_t since_ms, uint64_t share) {
        if (bytes == 0) return false;
        if (link.key_update_bytes != 0 && bytes * share >= link.key_update_bytes) return true;
        return link.key_update_interval_ms != 0 &&
               (now - since_ms) * share >= link.key_update_interval_ms;
    };
    bool ours = records_->write_key_exhausted() || due(out_under_key_, our_key_since_ms_, 1);
    bool theirs = due(in_under_key_, peer_key_since_ms_, 1);
    if (!ours && !theirs) return;
    // One KeyUpdate serves both directions when the peer's key is half-way
    // to its own rotation, rather than two messages a moment apart.
    if (ours && !theirs) theirs = due(in_under_key_, peer_key_since_ms_, 2);
    // Our KeyUpdate rotates our write key; update_requested asks the peer
    // to rotate the key it sends with, too.
    auto s = records_->send_key_update(theirs, tls_out_);
    if (!s) {
        close("KeyUpdate: " + s.message());
        return;
    }
    ++service_->counters.key_updates_sent;
    out_under_key_ = 0;
    our_key_since_ms_ = now;
    if (theirs) {
        // Counted as rotated from now: the request is on its way.
        in_under_key_ = 0;
        peer_key_since_ms_ = now;
    }
}

void Connection::report_throttled() {
    if (!throttle_) return;
    service_->counters.throttled_ms += throttle_->throttled_ms - throttled_reported_ms_;
    throttled_reported_ms_ = throttle_->throttled_ms;
}

void Connection::on_throttle_wake() {
    if (state_ == State::closed) return;
    report_throttled();
    flush_tls();
    if (state_ == State::closed) return;
    update_interest();
    check_finished();
}

void Connection::flush_tls() {
    // A fatal alert goes out whatever the limits say.
    ThrottleState* throttle = failing_ ? nullptr : throttle_state();
    while (!tls_out_.empty()) {
        auto data = tls_out_.readable();
        size_t allowed = throttle
                             ? env_.throttle->allowance(*throttle, Direction::write, data.size())
                             : data.size();
        if (allowed == 0) return;  // writes resume on the throttle's tick
        ssize_t n = send(tls_fd_.get(), data.data(), allowed, MSG_NOSIGNAL);
        if (n < 0) {
            if (transient(errno)) return;
            close(failing_ ? close_reason_ : strfmt("send to %s: %s", tls_side(), strerror(errno)));
            return;
        }
        if (throttle) env_.throttle->consumed(*throttle, Direction::write, static_cast<size_t>(n));
        tls_out_.consume(static_cast<size_t>(n));
    }
    if (failing_) {
        close(close_reason_);
        return;
    }
    if (close_notify_sent_ && !tls_write_shut_) {
        shutdown(tls_fd_.get(), SHUT_WR);
        tls_write_shut_ = true;
        if (state_ == State::proxying) arm_activity_timer();
    }
}

void Connection::update_interest() {
    if (state_ == State::closed || !tls_poll_ || (state_ != State::proxying && !failing_)) return;
    // Without a watch this connection would never be woken again (it may
    // have no timer while proxying): the kernel's refusal ends it.
    auto watch = [&](std::optional<FdWatch>& w, int events) {
        if (!w->set_events(events)) close("cannot watch a socket (epoll_ctl failed)");
    };
    int tls = 0;
    if (!tls_read_done_ && !failing_ && tls_in_.free_space() > 0 &&
        !(throttle_ && throttle_->waiting[0]))
        tls |= UV_READABLE;
    if (!tls_out_.empty() && (failing_ || !(throttle_ && throttle_->waiting[1])))
        tls |= UV_WRITABLE;
    watch(tls_poll_, tls);
    if (state_ == State::closed) return;

    int plain = 0;
    if (state_ == State::proxying && !failing_) {
        const size_t need =
            sizer_.next(uv_now(env_.loop), records_->overhead(), records_->max_plaintext()) +
            records_->overhead() + RecordLayer::reserve_for_control();
        if (!plain_read_done_ && records_->can_write() && tls_out_.free_space() >= need)
            plain |= UV_READABLE;
        if (!plain_out_.empty()) plain |= UV_WRITABLE;
    }
    watch(plain_poll_, plain);
}

void Connection::check_finished() {
    if (state_ != State::proxying || failing_) return;
    bool inbound_done = tls_read_done_ && plain_write_shut_;
    bool outbound_done = plain_read_done_ && tls_write_shut_;
    if (inbound_done && outbound_done) close(close_reason_.empty() ? "done" : close_reason_);
}

void Connection::on_timer() {
    switch (state_) {
        case State::accepted:
        case State::proxy_header:
            close("PROXY header: not received within the handshake timeout");
            return;
        case State::awaiting_hello:
            ++service_->counters.handshakes_failed;
            ++service_->counters.failed_by_reason[static_cast<size_t>(ipc::FailReason::timeout)];
            close("handshake timeout: the ClientHello did not arrive (no helper was used)");
            return;
        case State::handshaking:
            ++service_->counters.handshakes_failed;
            ++service_->counters
                  .failed_by_reason[static_cast<size_t>(HandshakeFailure::helper_timeout)];
            close("handshake timeout (helper did not answer)");
            return;
        case State::connecting: {
            std::string how = strfmt("connect to target %s timed out",
                                     service_->config.target.to_string().c_str());
            if (!records_) {
                close(how);
                return;
            }
            close_notify_sent_ = true;
            (void)records_->seal_alert(Alert::close_notify, tls_out_);
            fail_after_alert(how);
            return;
        }
        case State::proxying: {
            if (failing_) {
                close(close_reason_ + " (alert not flushed)");
                return;
            }
            uint64_t limit = activity_limit_ms();
            uint64_t since = uv_now(env_.loop) - last_activity_ms_;
            if (limit == 0) return;
            if (since < limit) {
                timer_.start(limit - since);
                return;
            }
            if (half_closed()) {
                close(close_reason_.empty() ? "half-closed timeout"
                                            : close_reason_ + ", then timeout");
                return;
            }
            if (records_->can_write() && !close_notify_sent_) {
                (void)records_->seal_alert(Alert::close_notify, tls_out_);
                close_notify_sent_ = true;
            }
            fail_after_alert("idle timeout");
            return;
        }
        case State::closed:
            return;
    }
}

void Connection::finish() {
    switch (state_) {
        case State::proxying:
            if (records_->can_write() && !close_notify_sent_) {
                (void)records_->seal_alert(Alert::close_notify, tls_out_);
                close_notify_sent_ = true;
            }
            fail_after_alert("shutting down");
            return;
        case State::closed:
            return;
        default:
            close("shutting down");
            return;
    }
}

void Connection::fail_after_alert(const std::string& how) {
    if (state_ == State::closed) return;
    failing_ = true;
    close_reason_ = how;
    watch_tls();
    if (plain_poll_) plain_poll_->set_events(0);
    flush_tls();
    if (state_ == State::closed) return;
    tls_poll_->set_events(UV_WRITABLE);
    timer_.start(kLingerMs);
}

void Connection::close(const std::string& how) {
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
    tls_in_.consume(tls_in_.size());
    plain_out_.consume(plain_out_.size());
    tls_out_.consume(tls_out_.size());
    --service_->counters.connections_open;

    report_throttled();
    log_close(how, uv_now(env_.loop) - started_ms_);
    records_.reset();
    if (env_.closed) env_.closed(this);
}

void Connection::log_close(const std::string& how, uint64_t ms) {
    const auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    const char* service = service_->config.name.c_str();
    std::string peer = peer_.to_string();
    if (how.rfind("refused:", 0) == 0) {
        // Counted and logged (rate-limited) where the refusal was decided.
        LOG_DEBUG("event=close conn=%llu service=%s peer=%s reason=\"%s\"", ull(id_), service,
                  peer.c_str(), how.c_str());
        return;
    }
    if (records_) {
        // An established connection. With log_connections = false only
        // those that ended in an error are logged at info.
        // (An idle timeout or our own shutdown also ends through the
        // alert path, but is no error.)
        bool error = failing_ && how != "idle timeout" && how != "shutting down";
        bool quiet = !service_->config.log_connections && !error;
        LogLevel level = quiet ? LogLevel::debug : LogLevel::info;
        if (level < log_level()) return;
        log_write(level,
                  "event=close conn=%llu service=%s peer=%s version=%s suite=%s sni=\"%s\" "
                  "alpn=\"%s\" peer_cn=\"%s\" bytes_in=%llu bytes_out=%llu duration_ms=%llu "
                  "reason=\"%s\"",
                  ull(id_), service, peer.c_str(), version_name(records_->version()),
                  records_->suite().name, sni_.c_str(), alpn_.c_str(), peer_cn_.c_str(),
                  ull(bytes_from_tls_), ull(bytes_to_tls_), ull(ms), how.c_str());
        return;
    }
    // Never got as far as a record layer: a failed handshake, a client that
    // went away, a target that could not be reached. Floods of these are
    // what bad clients produce, so they are budgeted.
    if (!g_failure_log.allow(uv_now(env_.loop))) return;
    uint64_t suppressed = g_failure_log.take_suppressed();
    std::string tail = suppressed ? strfmt(" suppressed=%llu", ull(suppressed)) : std::string();
    LOG_INFO("event=close conn=%llu service=%s peer=%s duration_ms=%llu reason=\"%s\"%s", ull(id_),
             service, peer.c_str(), ull(ms), how.c_str(), tail.c_str());
}

}  // namespace tlsward::netproc
