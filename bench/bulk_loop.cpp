#include "bench/bulk_loop.hpp"

#include <array>
#include <cstring>

#include "bench/clock.hpp"
#include "bench/protocol.hpp"

namespace tlsward::bench {
namespace {

// How much a connection keeps queued in libuv beyond what the socket took.
constexpr size_t kHighWater = 256 * 1024;
// At most this much written per connection per loop turn. A server that
// drains the socket as fast as we write never lets the kernel push back,
// and writes that complete at once call on_drained again from libuv's
// write callbacks: filling from there, unbounded, kept the loop from ever
// polling (no acknowledgement read, no timer run) and a run measured
// nothing at all.
constexpr size_t kFillBudget = 1024 * 1024;

}  // namespace

const uint8_t* pattern_block() {
    static const auto block = [] {
        std::array<uint8_t, kPatternSize> b{};
        uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift64
        for (uint8_t& v : b) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v = static_cast<uint8_t>(x >> 24);
        }
        return b;
    }();
    return block.data();
}

void BulkCounts::merge(const BulkCounts& o) {
    bytes += o.bytes;
    bytes_total += o.bytes_total;
    connections += o.connections;
    failed += o.failed;
    for (const auto& [k, v] : o.errors) errors[k] += v;
    if (negotiated.empty()) negotiated = o.negotiated;
}

BulkLoop::BulkLoop(uv_loop_t* loop, ClientContext& tls, const sockaddr* addr, int connections,
                   uint8_t direction, uint64_t reconnect_after)
    : loop_(loop),
      tls_(tls),
      connections_(connections),
      direction_(direction),
      reconnect_after_(reconnect_after),
      idle_(loop, [this] { fill_due(); }) {
    std::memcpy(&addr_, addr,
                addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    pattern_block();  // built before the clock runs
}

BulkLoop::~BulkLoop() {
    for (TlsConn* c : live_) c->discard();
}

void BulkLoop::fill_due() {
    std::unordered_set<TlsConn*> due;
    due.swap(to_fill_);
    for (TlsConn* c : due)
        if (live_.count(c) != 0) fill(*c);
    if (to_fill_.empty()) idle_.stop();
}

void BulkLoop::fill_later(TlsConn& c) {
    to_fill_.insert(&c);
    idle_.start();
}

void BulkLoop::schedule(uint64_t start_ns, uint64_t from_ns, uint64_t to_ns) {
    from_ns_ = from_ns;
    to_ns_ = to_ns;
    start_timer_ = std::make_unique<UvTimer>(loop_, [this] {
        running_ = true;
        for (int i = 0; i < connections_; ++i) launch();
    });
    stop_timer_ = std::make_unique<UvTimer>(loop_, [this] { stop(); });
    retry_timer_ = std::make_unique<UvTimer>(loop_, [this] {
        while (running_ && static_cast<int>(live_.size()) < connections_) launch();
    });

    uv_update_time(loop_);
    start_timer_->start(ms_until(start_ns));
    stop_timer_->start(ms_until(to_ns));
}

void BulkLoop::launch() {
    live_.insert(TlsConn::start(loop_, tls_, reinterpret_cast<const sockaddr*>(&addr_), this));
}

void BulkLoop::stop() {
    running_ = false;
    retry_timer_->stop();
    std::unordered_set<TlsConn*> open = live_;
    for (TlsConn* c : open) c->close();
}

void BulkLoop::on_handshake(TlsConn& c) {
    if (counts_.connections++ == 0) counts_.negotiated = c.describe();
    c.user_u64 = 0;
    c.write(&direction_, 1);
    if (direction_ == kModeUpload) fill(c);
}

void BulkLoop::fill(TlsConn& c) {
    // While the socket takes everything this keeps going until the kernel's
    // send buffer is full, then keeps kHighWater queued behind it.
    size_t budget = kFillBudget;
    while (running_ && c.writable() && c.queued() < kHighWater) {
        if (budget < kPatternSize) return fill_later(c);  // the next loop turn, after its I/O
        c.write(pattern_block(), kPatternSize);
        budget -= kPatternSize;
    }
}

void BulkLoop::on_drained(TlsConn& c) {
    // Not fill(c) here: each of a turn's writes that completed at once
    // calls this, and each would fill a budget of its own.
    if (direction_ == kModeUpload && running_) fill_later(c);
}

void BulkLoop::count(TlsConn& c, uint64_t n) {
    uint64_t t = now_ns();
    counts_.bytes_total += n;
    if (t >= from_ns_ && t < to_ns_) counts_.bytes += n;
    c.user_u64 += n;
    if (reconnect_after_ != 0 && c.user_u64 >= reconnect_after_ && running_) c.close();
}

void BulkLoop::on_data(TlsConn& c, const uint8_t* p, size_t n) {
    if (direction_ == kModeDownload) return count(c, n);
    uint64_t acks = 0;
    for (size_t i = 0; i < n; ++i) acks += p[i] == kAckByte ? 1 : 0;
    count(c, acks * kAckUnit);
}

void BulkLoop::on_closed(TlsConn& c, const char* error) {
    live_.erase(&c);
    to_fill_.erase(&c);
    if (error != nullptr && running_) {
        ++counts_.failed;
        ++counts_.errors[error];
    }
    if (!running_) return;
    // Replace it: at once after a planned reconnect, after 100 ms after a failure.
    if (error == nullptr)
        launch();
    else if (!retry_timer_->active())
        retry_timer_->start(100);
}

}  // namespace tlsward::bench
