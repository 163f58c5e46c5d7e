// ping: round-trip time of small messages on one established connection
// through the server to the echo backend. A message goes out every
// --interval-ms whether or not the previous one came back (so a stall
// delays every message sent during it, not just one), carrying its send
// time. Quiet phase first; then, with --flood N, N handshake loops start
// on other threads and the same connection is measured again.

#include <atomic>
#include <cstring>
#include <vector>

#include "bench/clock.hpp"
#include "bench/handshake_loop.hpp"
#include "bench/loop_thread.hpp"
#include "bench/measuring_priority.hpp"
#include "bench/modes.hpp"
#include "bench/protocol.hpp"
#include "bench/usage.hpp"

namespace tlsward::bench {
namespace {

struct PingPhase {
    uint64_t from_ns = 0;
    uint64_t to_ns = 0;
    uint64_t sent = 0;
    uint64_t received = 0;
    LatencyRecorder rtt;
};

class Pinger : public TlsConn::Handler {
public:
    Pinger(uv_loop_t* loop, ClientContext& tls, const Options& o, PingPhase* quiet,
           PingPhase* flood, uint64_t start_ns, uint64_t end_ns)
        : loop_(loop),
          o_(o),
          tls_(tls),
          quiet_(quiet),
          flood_(flood),
          end_ns_(end_ns),
          interval_ns_(static_cast<uint64_t>(o.interval_ms * 1e6)),
          msg_(o.ping_size, 0),
          tick_(loop, [this] { tick(); }),
          give_up_(loop, [this] { finish(); }),
          start_(loop, [this] {
              conn_ =
                  TlsConn::start(loop_, tls_, reinterpret_cast<const sockaddr*>(&o_.addr), this);
          }) {
        uv_update_time(loop);
        start_.start(ms_until(start_ns));
    }
    ~Pinger() override {
        if (conn_ != nullptr) conn_->discard();
    }

    std::string error;
    std::string negotiated;

    void on_handshake(TlsConn& c) override {
        negotiated = c.describe();
        c.write(&kModeEcho, 1);
        next_ns_ = now_ns();
        tick();
    }

    void on_data(TlsConn&, const uint8_t* p, size_t n) override {
        uint64_t t = now_ns();
        rx_.insert(rx_.end(), p, p + n);
        size_t off = 0;
        while (rx_.size() - off >= o_.ping_size) {
            uint64_t sent_at = 0;
            std::memcpy(&sent_at, rx_.data() + off + 8, 8);
            off += o_.ping_size;
            --outstanding_;
            for (PingPhase* ph : {quiet_, flood_}) {
                if (ph == nullptr || sent_at < ph->from_ns || sent_at >= ph->to_ns) continue;
                ++ph->received;
                ph->rtt.add_ns(t - sent_at);
            }
        }
        rx_.erase(rx_.begin(), rx_.begin() + static_cast<long>(off));
        if (done_sending_ && outstanding_ == 0) finish();
    }

    void on_closed(TlsConn&, const char* err) override {
        conn_ = nullptr;
        tick_.stop();
        give_up_.stop();
        if (err != nullptr && !finished_) error = err;
    }

private:
    void tick() {
        if (conn_ == nullptr) return;
        uint64_t t = now_ns();
        if (t >= end_ns_) {
            done_sending_ = true;
            if (outstanding_ == 0) return finish();
            give_up_.start(2000);  // what has not come back by then is lost
            return;
        }
        std::memcpy(msg_.data(), &seq_, 8);
        std::memcpy(msg_.data() + 8, &t, 8);
        ++seq_;
        ++outstanding_;
        for (PingPhase* ph : {quiet_, flood_})
            if (ph != nullptr && t >= ph->from_ns && t < ph->to_ns) ++ph->sent;
        conn_->write(msg_.data(), msg_.size());
        // Next send time on a fixed grid (no drift); skip ticks already missed.
        next_ns_ += interval_ns_;
        uint64_t now = now_ns();
        if (next_ns_ < now) next_ns_ = now;
        uv_update_time(loop_);
        tick_.start(ms_until(next_ns_));
    }

    void finish() {
        finished_ = true;
        tick_.stop();
        give_up_.stop();
        if (conn_ != nullptr) conn_->close();
    }

    uv_loop_t* loop_;
    const Options& o_;
    ClientContext& tls_;
    PingPhase* quiet_;
    PingPhase* flood_;
    uint64_t end_ns_;
    uint64_t interval_ns_;
    uint64_t next_ns_ = 0;
    uint64_t seq_ = 0;
    int64_t outstanding_ = 0;
    bool done_sending_ = false;
    bool finished_ = false;
    std::vector<uint8_t> msg_;
    std::vector<uint8_t> rx_;
    TlsConn* conn_ = nullptr;
    UvTimer tick_;
    UvTimer give_up_;
    UvTimer start_;
};

void report_phase(Report& r, const std::string& key, const std::string& title, const PingPhase& ph,
                  const WindowUsage& usage) {
    LatencySummary s = ph.rtt.summarize();
    r.section(title);
    r.metric(key + "_p50_ms", s.p50_ms, "ms", "RTT p50");
    r.metric(key + "_p99_ms", s.p99_ms, "ms", "RTT p99");
    r.metric(key + "_max_ms", s.max_ms, "ms", "RTT max");
    r.metric(key + "_pings", static_cast<double>(ph.received), "", "answers");
    r.metric(key + "_lost", static_cast<double>(ph.sent - std::min(ph.sent, ph.received)), "",
             "no answer within 2 s of the end");
    report_usage(r, usage, key + "_");
}

}  // namespace

Status run_ping(const Options& o, Report& r) {
    report_client_config(o, r);
    r.config("interval_ms", o.interval_ms);
    r.config("size", static_cast<double>(o.ping_size));
    r.config("flood", o.flood);
    if (o.flood > 0)
        r.config("flood_server", o.flood_address.empty() ? o.address : o.flood_address);
    r.config("duration_s", o.duration_s);

    uint64_t start = now_ns() + 50000000ull;
    PingPhase quiet;
    quiet.from_ns = start + seconds_to_ns(std::max(o.warmup_s, 0.2));
    quiet.to_ns = quiet.from_ns + seconds_to_ns(o.duration_s);
    PingPhase flood;
    flood.from_ns = quiet.to_ns + seconds_to_ns(o.warmup_s);
    flood.to_ns = flood.from_ns + seconds_to_ns(o.duration_s);
    uint64_t end = o.flood > 0 ? flood.to_ns : quiet.to_ns;

    std::string ping_error;
    std::string negotiated;
    std::atomic<bool> realtime{false};
    auto pinger = LoopThread::spawn(o, [&](uv_loop_t* loop, ClientContext& tls) {
        realtime = enter_measuring_priority() == 0;
        Pinger p(loop, tls, o, &quiet, o.flood > 0 ? &flood : nullptr, start, end);
        uv_run(loop, UV_RUN_DEFAULT);
        ping_error = p.error;
        negotiated = p.negotiated;
    });
    if (!pinger) return pinger.error();

    int threads = std::max(1, std::min(o.flood_threads, o.flood));
    std::vector<HandshakeCounts> counts(static_cast<size_t>(threads));
    std::vector<std::unique_ptr<LoopThread>> flooders;
    if (o.flood > 0) {
        auto spawned = spawn_threads(o, threads, [&](int i, uv_loop_t* loop, ClientContext& tls) {
            HandshakeLoop hl(loop, tls, reinterpret_cast<const sockaddr*>(&o.flood_addr),
                             share(o.flood, threads, i), false);
            hl.schedule(quiet.to_ns, flood.from_ns, flood.to_ns);
            uv_run(loop, UV_RUN_DEFAULT);
            counts[static_cast<size_t>(i)] = hl.counts();
        });
        if (!spawned) {
            (*pinger)->join();
            return spawned.error();
        }
        flooders = std::move(*spawned);
    }
    ServerProcs server = server_procs(o);
    progress(o, "ping every %g ms through %s: quiet phase, %.1f s", o.interval_ms,
             o.address.c_str(), o.duration_s);
    WindowUsage quiet_usage = watch_window(server, quiet.from_ns, quiet.to_ns);
    WindowUsage flood_usage;
    if (o.flood > 0) {
        progress(o, "flood phase: %d handshake loops, %.1f s", o.flood, o.duration_s);
        flood_usage = watch_window(server, flood.from_ns, flood.to_ns);
    }
    (*pinger)->join();
    join_all(flooders);

    r.config("ping_thread", realtime ? "SCHED_FIFO" : "normal priority");
    if (!negotiated.empty()) r.config("negotiated", negotiated);
    report_phase(r, "quiet", "RTT, quiet", quiet, quiet_usage);
    if (o.flood > 0) {
        HandshakeCounts all;
        for (const auto& c : counts) all.merge(c);
        report_phase(r, "flood", "RTT during the handshake flood", flood, flood_usage);
        r.metric("flood_handshakes_per_s", static_cast<double>(all.ok) / flood_usage.seconds, "/s",
                 "flood handshakes per second");
        r.metric("flood_failed", static_cast<double>(all.failed), "", "flood connections failed");
        if (!all.negotiated.empty()) r.note("flood: " + all.negotiated);
        note_errors(r, "flood", all.errors);
    }
    if (!ping_error.empty()) return err(ErrorKind::io, "ping connection: %s", ping_error.c_str());
    if (quiet.received == 0)
        return err(ErrorKind::io, "no ping answered through %s", o.address.c_str());
    return {};
}

}  // namespace tlsward::bench
