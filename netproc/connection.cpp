#include "netproc/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
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
// Grace beyond the helper's own deadline before netproc takes the socket
// back by force (the helper normally answers "timeout" first).
constexpr uint64_t kHelperGraceMs = 1000;

const char* version_name(uint16_t v) {
    return v == kTls13 ? "TLSv1.3" : "TLSv1.2";
}

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool transient(int e) {
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

}  // namespace

Connection::Connection(Env& env, uint64_t id, std::shared_ptr<Service> service, UniqueFd accepted,
                       const SocketAddress& peer)
    : env_(env),
      id_(id),
      service_(std::move(service)),
      peer_(peer),
      tls_fd_(std::move(accepted)),
      timer_(env.loop, [this] { on_timer(); }),
      tls_in_(env.buffers),
      plain_out_(env.buffers),
      tls_out_(env.buffers) {
    started_ms_ = last_activity_ms_ = uv_now(env_.loop);
    ++service_->counters.connections_total;
    ++service_->counters.connections_open;
}

Connection::~Connection() {
    if (state_ != State::closed) close("destroyed");
}

bool Connection::start() {
    set_nodelay(tls_fd_.get());
    HandshakeRequest req;
    req.conn_id = id_;
    req.fd = tls_fd_.get();
    req.job.conn_id = id_;
    req.job.service_id = service_->config.id;
    req.job.role = ipc::TlsRole::server;
    req.job.deadline_ms = service_->config.handshake_timeout_ms;
    req.job.aead_mask = ipc::kAeadAll;
    auto r = env_.helpers->submit(std::move(req));
    if (r == HelperPool::Submit::refused) {
        ++service_->counters.refused_queue_full;
        close("refused: handshake queue full");
        return false;
    }
    state_ = State::handshaking;
    timer_.start(service_->config.handshake_timeout_ms + kHelperGraceMs);
    return true;
}

void Connection::on_handshake_failed(const ipc::HandshakeFailed& f) {
    ++service_->counters.handshakes_failed;
    std::string how = strfmt("handshake failed: %s", ipc::fail_reason_name(f.reason));
    if (f.alert != 0 || f.reason == ipc::FailReason::alert_sent ||
        f.reason == ipc::FailReason::alert_received)
        how += strfmt(" alert=%s", alert_name(f.alert));
    if (!f.detail.empty()) how += " (" + f.detail + ")";
    close(how);
}

void Connection::on_handshake_done(ipc::HandshakeDone&& handoff) {
    if (state_ != State::handshaking) return;
    auto rl = RecordLayer::create(handoff, /*we_are_server=*/true);
    if (!rl) {
        handoff.client_secret.wipe();
        handoff.server_secret.wipe();
        ++service_->counters.handshakes_failed;
        close("hand-off rejected: " + rl.message());
        return;
    }
    records_ = std::move(rl.value());
    handoff.client_secret.wipe();
    handoff.server_secret.wipe();
    ++service_->counters.handshakes_ok;
    sni_ = std::move(handoff.sni);
    alpn_ = std::move(handoff.alpn);
    if (!handoff.leftover.empty()) tls_in_.append(handoff.leftover);
    LOG_DEBUG(
        "event=handshake_done conn=%llu service=%s version=%s suite=%s sni=\"%s\" "
        "alpn=\"%s\" helper_ms=%llu",
        static_cast<unsigned long long>(id_), service_->config.name.c_str(),
        version_name(records_->version()), records_->suite().name, sni_.c_str(), alpn_.c_str(),
        static_cast<unsigned long long>(uv_now(env_.loop) - started_ms_));
    connect_target();
}

void Connection::connect_target() {
    state_ = State::connecting;
    const SocketAddress& target = service_->config.target;
    int fd = socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        (void)records_->seal_alert(Alert::internal_error, tls_out_);
        fail_after_alert(strfmt("socket() for target: %s", strerror(errno)));
        return;
    }
    plain_fd_.reset(fd);
    if (target.family() != AF_UNIX) set_nodelay(fd);
    int rc;
    do {
        rc = ::connect(fd, target.sa(), target.length);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EINPROGRESS) {
        int e = errno;
        (void)records_->seal_alert(Alert::close_notify, tls_out_);
        close_notify_sent_ = true;
        fail_after_alert(
            strfmt("connect to target %s failed: %s", target.to_string().c_str(), strerror(e)));
        return;
    }
    tls_poll_ = std::make_unique<UvPoll>(env_.loop, tls_fd_.get(),
                                         [this](int s, int e) { on_tls_event(s, e); });
    plain_poll_ = std::make_unique<UvPoll>(env_.loop, plain_fd_.get(),
                                           [this](int s, int e) { on_plain_event(s, e); });
    timer_.start(service_->config.connect_timeout_ms);
    if (rc == 0) {
        on_connected();
    } else {
        plain_poll_->set_events(UV_WRITABLE);
    }
}

void Connection::on_connected() {
    state_ = State::proxying;
    touch();
    arm_activity_timer();
    // Bytes the helper read past the handshake are the first records.
    pump_inbound();
    if (state_ == State::closed) return;
    update_interest();
}

void Connection::on_plain_event(int status, int events) {
    if (state_ == State::connecting) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (status < 0 || getsockopt(plain_fd_.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
            soerr != 0) {
            int e = soerr != 0 ? soerr : errno;
            (void)records_->seal_alert(Alert::close_notify, tls_out_);
            close_notify_sent_ = true;
            fail_after_alert(strfmt("connect to target %s failed: %s",
                                    service_->config.target.to_string().c_str(), strerror(e)));
            return;
        }
        on_connected();
        return;
    }
    if (state_ != State::proxying) return;
    if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) {
        close(strfmt("target socket error: %s", uv_strerror(status)));
        return;
    }
    if (events & UV_WRITABLE) pump_inbound();
    if (state_ == State::closed) return;
    if (events & (UV_READABLE | UV_DISCONNECT)) read_plain();
    if (state_ == State::closed) return;
    update_interest();
    check_finished();
}

void Connection::on_tls_event(int status, int events) {
    if (state_ != State::proxying && !failing_) return;
    if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) {
        close(strfmt("client socket error: %s", uv_strerror(status)));
        return;
    }
    if (events & UV_WRITABLE) flush_tls();
    if (state_ == State::closed) return;
    if (events & (UV_READABLE | UV_DISCONNECT)) read_tls();
    if (state_ == State::closed) return;
    update_interest();
    check_finished();
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
    ssize_t n = recv(tls_fd_.get(), w.data(), w.size(), 0);
    if (n > 0) {
        tls_in_.commit(static_cast<size_t>(n));
        touch();
        pump_inbound();
        return;
    }
    if (n < 0 && transient(errno)) return;
    if (n < 0 && errno != ECONNRESET) {
        close(strfmt("recv from client: %s", strerror(errno)));
        return;
    }
    // EOF or reset without close_notify: the peer is gone mid-stream. What
    // it sent is delivered; a partial record is lost (and logged).
    tls_read_done_ = true;
    if (n < 0) {
        close("reset by client");
        return;
    }
    close_reason_ = tls_in_.empty() ? "client closed without close_notify"
                                    : "client closed inside a record (truncated)";
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
            opened = tls_in_.size() != before;
            if (r.outcome == RecordLayer::ReadOutcome::close_notify) {
                tls_read_done_ = true;
                if (close_reason_.empty()) close_reason_ = "client sent close_notify";
                tls_in_.consume(tls_in_.size());
            } else if (r.outcome == RecordLayer::ReadOutcome::fatal) {
                if (r.from_peer)
                    fail_after_alert(strfmt("client sent alert %s", alert_name(r.alert)));
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
                close(strfmt("send to target: %s", strerror(errno)));
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
    flush_tls();
}

void Connection::read_plain() {
    if (plain_read_done_ || failing_ || !records_->can_write()) return;
    const size_t max = records_->max_plaintext();
    const size_t need = max + records_->overhead() + RecordLayer::reserve_for_control();
    // A few records per turn at most, so one busy connection cannot hold
    // the loop; the poll fires again while data is waiting.
    for (int i = 0; i < 4; ++i) {
        auto w = tls_out_.writable(need);
        if (w.size() < need) break;
        ssize_t n = recv(plain_fd_.get(), w.data() + records_->prefix_len(), max, 0);
        if (n > 0) {
            auto s = records_->seal_in_place(tls_out_, static_cast<size_t>(n));
            if (!s) {
                close("sealing a record: " + s.message());
                return;
            }
            bytes_to_tls_ += static_cast<uint64_t>(n);
            service_->counters.bytes_to_tls += static_cast<uint64_t>(n);
            touch();
            if (static_cast<size_t>(n) < max) break;
            continue;
        }
        if (n < 0 && transient(errno)) break;
        if (n < 0) {
            // The target is gone; what was read is flushed with close_notify.
            if (close_reason_.empty()) close_reason_ = strfmt("target: %s", strerror(errno));
        } else if (close_reason_.empty()) {
            close_reason_ = "target closed";
        }
        plain_read_done_ = true;
        if (!close_notify_sent_ && records_->can_write()) {
            (void)records_->seal_alert(Alert::close_notify, tls_out_);
            close_notify_sent_ = true;
        }
        break;
    }
    flush_tls();
}

void Connection::flush_tls() {
    while (!tls_out_.empty()) {
        auto data = tls_out_.readable();
        ssize_t n = send(tls_fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (transient(errno)) return;
            close(failing_ ? close_reason_ : strfmt("send to client: %s", strerror(errno)));
            return;
        }
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
    if (state_ == State::closed || !tls_poll_) return;
    int tls = 0;
    if (!tls_read_done_ && !failing_ && tls_in_.free_space() > 0) tls |= UV_READABLE;
    if (!tls_out_.empty()) tls |= UV_WRITABLE;
    tls_poll_->set_events(tls);

    int plain = 0;
    if (state_ == State::proxying && !failing_) {
        const size_t need =
            records_->max_plaintext() + records_->overhead() + RecordLayer::reserve_for_control();
        if (!plain_read_done_ && records_->can_write() && tls_out_.free_space() >= need)
            plain |= UV_READABLE;
        if (!plain_out_.empty()) plain |= UV_WRITABLE;
    }
    plain_poll_->set_events(plain);
}

void Connection::check_finished() {
    if (state_ != State::proxying || failing_) return;
    bool inbound_done = tls_read_done_ && plain_write_shut_;
    bool outbound_done = plain_read_done_ && tls_write_shut_;
    if (inbound_done && outbound_done) close(close_reason_.empty() ? "done" : close_reason_);
}

void Connection::on_timer() {
    switch (state_) {
        case State::queued:
        case State::handshaking:
            ++service_->counters.handshakes_failed;
            close("handshake timeout (helper did not answer)");
            return;
        case State::connecting:
            close_notify_sent_ = true;
            (void)records_->seal_alert(Alert::close_notify, tls_out_);
            fail_after_alert(strfmt("connect to target %s timed out",
                                    service_->config.target.to_string().c_str()));
            return;
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
    if (!tls_poll_)
        tls_poll_ = std::make_unique<UvPoll>(env_.loop, tls_fd_.get(),
                                             [this](int s, int e) { on_tls_event(s, e); });
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
    tls_poll_.reset();
    plain_poll_.reset();
    if (was == State::queued || was == State::handshaking) {
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

    uint64_t ms = uv_now(env_.loop) - started_ms_;
    if (records_) {
        LOG_INFO(
            "event=close conn=%llu service=%s peer=%s version=%s suite=%s sni=\"%s\" "
            "alpn=\"%s\" bytes_in=%llu bytes_out=%llu duration_ms=%llu reason=\"%s\"",
            static_cast<unsigned long long>(id_), service_->config.name.c_str(),
            peer_.to_string().c_str(), version_name(records_->version()), records_->suite().name,
            sni_.c_str(), alpn_.c_str(), static_cast<unsigned long long>(bytes_from_tls_),
            static_cast<unsigned long long>(bytes_to_tls_), static_cast<unsigned long long>(ms),
            how.c_str());
    } else {
        LOG_INFO("event=close conn=%llu service=%s peer=%s duration_ms=%llu reason=\"%s\"",
                 static_cast<unsigned long long>(id_), service_->config.name.c_str(),
                 peer_.to_string().c_str(), static_cast<unsigned long long>(ms), how.c_str());
    }
    records_.reset();
    if (env_.closed) env_.closed(this);
}

}  // namespace tlsward::netproc
