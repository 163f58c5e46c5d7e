#include "bench/handshake_loop.hpp"

#include <cstring>

#include "bench/clock.hpp"
#include "bench/protocol.hpp"

namespace tlsward::bench {

void HandshakeCounts::merge(const HandshakeCounts& o) {
    ok += o.ok;
    resumed += o.resumed;
    failed += o.failed;
    ok_total += o.ok_total;
    latency.merge(o.latency);
    for (const auto& [k, v] : o.errors) errors[k] += v;
    if (negotiated.empty()) negotiated = o.negotiated;
}

HandshakeLoop::HandshakeLoop(uv_loop_t* loop, ClientContext& tls, const sockaddr* addr,
                             int concurrency, bool request)
    : loop_(loop), tls_(tls), concurrency_(concurrency), request_(request) {
    std::memcpy(&addr_, addr,
                addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
}

HandshakeLoop::~HandshakeLoop() {
    // Connections hold a pointer to this handler: close them without callbacks to us.
    for (TlsConn* c : live_) c->discard();
}

void HandshakeLoop::schedule(uint64_t start_ns, uint64_t from_ns, uint64_t to_ns) {
    from_ns_ = from_ns;
    to_ns_ = to_ns;
    start_timer_ = std::make_unique<UvTimer>(loop_, [this] {
        running_ = true;
        if (tls_.resume() && tls_.session() == nullptr) {
            priming_ = true;
            launch();
        } else {
            launch_all();
        }
    });
    stop_timer_ = std::make_unique<UvTimer>(loop_, [this] { stop(); });
    kill_timer_ = std::make_unique<UvTimer>(loop_, [this] {
        std::unordered_set<TlsConn*> left = live_;
        for (TlsConn* c : left) c->abort("still open 5 s after the end");
    });
    uv_update_time(loop_);
    start_timer_->start(ms_until(start_ns));
    stop_timer_->start(ms_until(to_ns));
}

void HandshakeLoop::launch_all() {
    while (running_ && static_cast<int>(live_.size()) < concurrency_) launch();
}

void HandshakeLoop::launch() {
    TlsConn* c = TlsConn::start(loop_, tls_, reinterpret_cast<const sockaddr*>(&addr_), this);
    live_.insert(c);
}

void HandshakeLoop::stop() {
    running_ = false;
    if (live_.empty()) {
        kill_timer_->stop();
        if (prime_timer_) prime_timer_->stop();
        return;
    }
    kill_timer_->start(5000);
}

void HandshakeLoop::on_handshake(TlsConn& c) {
    if (counts_.ok_total++ == 0) counts_.negotiated = c.describe();
    if (in_window(c.handshake_ns())) {
        ++counts_.ok;
        if (c.resumed()) ++counts_.resumed;
        counts_.latency.add_ns(c.handshake_ns() - c.start_ns());
    }
    if (priming_) {
        // TLS 1.2 sessions come with the handshake; TLS 1.3 tickets right
        // after it (the server sends them once it has the client's Finished).
        if (tls_.session() != nullptr || c.version() != TLS1_3_VERSION) return end_priming(c);
        prime_timer_ = std::make_unique<UvTimer>(loop_, [this, &c] { end_priming(c); });
        prime_timer_->start(250);
        return;
    }
    if (request_) {
        const uint8_t msg[2] = {kModeEcho, 'x'};
        c.write(msg, sizeof msg);
        return;
    }
    c.close();
}

void HandshakeLoop::on_data(TlsConn& c, const uint8_t*, size_t) {
    if (request_ && !priming_) c.close();
}

void HandshakeLoop::on_input(TlsConn& c) {
    if (priming_ && tls_.session() != nullptr) end_priming(c);
}

void HandshakeLoop::end_priming(TlsConn& c) {
    if (!priming_) return;
    priming_ = false;
    if (prime_timer_) prime_timer_->stop();
    c.close();
    launch_all();
}

void HandshakeLoop::on_closed(TlsConn& c, const char* error) {
    live_.erase(&c);
    if (error != nullptr) {
        if (in_window(now_ns())) {
            ++counts_.failed;
            ++counts_.errors[error];
        }
        if (priming_) {
            // The primer failed: carry on without a session.
            priming_ = false;
            if (prime_timer_) prime_timer_->stop();
        }
    }
    if (running_) {
        if (!priming_) launch_all();
    } else if (live_.empty()) {
        kill_timer_->stop();
        if (prime_timer_) prime_timer_->stop();
    }
}

}  // namespace tlsward::bench
