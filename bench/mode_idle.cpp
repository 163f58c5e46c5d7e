// idle: opens N connections (a bounded number of handshakes at a time),
// makes each one carry an echo round trip so the server has connected to
// the backend too, then holds them all idle and reads the server's memory
// from /proc: (after - before) / N is the cost of one idle proxied TLS
// connection. VmRSS counts every resident page of each process; Pss splits
// shared pages between the processes that share them (fairer for servers
// made of forked workers). A short handshake warm-up at the same
// concurrency comes first, so the memory of handshakes in flight is not
// counted as the idle connections'.
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "bench/clock.hpp"
#include "bench/handshake_loop.hpp"
#include "bench/loop_thread.hpp"
#include "bench/modes.hpp"
#include "bench/proc_stats.hpp"
#include "bench/protocol.hpp"
#include "bench/usage.hpp"

namespace tlsward::bench {
namespace {

class IdleOpener : public TlsConn::Handler {
public:
    IdleOpener(uv_loop_t* loop, ClientContext& tls, const Options& o, int target, int in_flight,
               std::atomic<int>* settled)
        : loop_(loop), tls_(tls), o_(o), target_(target), in_flight_(in_flight), settled_(settled) {
        close_.data = this;
        uv_async_init(loop, &close_,
                      [](uv_async_t* a) { static_cast<IdleOpener*>(a->data)->close_all(); });
        launch_more();
        if (target_ == 0) settled_->fetch_add(1);
    }
    ~IdleOpener() override {
        for (TlsConn* c : live_) c->discard();
    }

    // Any thread: close every connection and let the loop end.
    void request_close() { uv_async_send(&close_); }

    std::atomic<int> established{0};  // read by the main thread
    int failed = 0;
    std::map<std::string, uint64_t> errors;
    std::string negotiated;

    void on_handshake(TlsConn& c) override {
        if (negotiated.empty()) negotiated = c.describe();
        const uint8_t msg[2] = {kModeEcho, 'x'};
        c.write(msg, sizeof msg);
    }
    void on_data(TlsConn& c, const uint8_t*, size_t) override {
        if (c.user_u64 != 0) return;
        c.user_u64 = 1;
        ++established;
        --opening_;
        launch_more();
        check_settled();
    }
    void on_closed(TlsConn& c, const char* error) override {
        live_.erase(&c);
        if (closing_) return;
        ++failed;
        ++errors[error != nullptr ? error : "closed"];
        if (c.user_u64 == 0)
            --opening_;
        else
            --established;
        launch_more();
        check_settled();
    }

private:
    void launch_more() {
        while (!closing_ && started_ < target_ && opening_ < in_flight_) {
            ++started_;
            ++opening_;
            live_.insert(
                TlsConn::start(loop_, tls_, reinterpret_cast<const sockaddr*>(&o_.addr), this));
        }
    }
    void check_settled() {
        if (!reported_ && started_ == target_ && opening_ == 0) {
            reported_ = true;
            settled_->fetch_add(1);
        }
    }
    void close_all() {
        closing_ = true;
        std::unordered_set<TlsConn*> open = live_;
        for (TlsConn* c : open) c->close();
        uv_close(reinterpret_cast<uv_handle_t*>(&close_), nullptr);
    }

    uv_loop_t* loop_;
    ClientContext& tls_;
    const Options& o_;
    int target_;
    int in_flight_;
    std::atomic<int>* settled_;
    int started_ = 0;
    int opening_ = 0;
    bool closing_ = false;
    bool reported_ = false;
    std::unordered_set<TlsConn*> live_;
    uv_async_t close_{};
};

}  // namespace

Status run_idle(const Options& o, Report& r) {
    report_client_config(o, r);
    r.config("connections", o.connections);
    r.config("settle_s", o.settle_s);
    ServerProcs server = server_procs(o);
    r.config("server_pids", [&] {
        std::string s;
        for (pid_t p : server.current_pids()) s += (s.empty() ? "" : ",") + std::to_string(p);
        return s;
    }());

    if (server.sample(false).processes == 0)
        return err(ErrorKind::io, "none of the server's processes could be read in /proc");
    // Warm-up: handshakes at the same concurrency, so memory that only
    // handshakes in flight need (and keep in their allocator afterwards) is
    // in "before" and not counted as the idle connections' cost.
    {
        auto warm = LoopThread::spawn(o, [&](uv_loop_t* loop, ClientContext& tls) {
            HandshakeLoop hl(loop, tls, reinterpret_cast<const sockaddr*>(&o.addr),
                             std::max(1, o.concurrency), true);
            uint64_t t = now_ns();
            hl.schedule(t, t, t + 500000000ull);
            uv_run(loop, UV_RUN_DEFAULT);
        });
        if (!warm) return warm.error();
        (*warm)->join();
        sleep_until_ns(now_ns() + 300000000ull);
    }
    ProcSnapshot before = server.sample();
    int threads = std::min(o.threads, o.connections);
    std::atomic<int> settled{0};
    std::mutex mu;
    std::vector<IdleOpener*> openers(static_cast<size_t>(threads), nullptr);
    struct Totals {
        int established = 0;
        int failed = 0;
        std::map<std::string, uint64_t> errors;
        std::string negotiated;
    } totals;
    progress(o, "opening %d connections to %s", o.connections, o.address.c_str());
    uint64_t t0 = now_ns();
    auto spawned = spawn_threads(o, threads, [&](int i, uv_loop_t* loop, ClientContext& tls) {
        IdleOpener op(loop, tls, o, share(o.connections, threads, i),
                      std::max(1, o.concurrency / threads), &settled);
        {
            std::lock_guard<std::mutex> lock(mu);
            openers[static_cast<size_t>(i)] = &op;
        }
        uv_run(loop, UV_RUN_DEFAULT);
        std::lock_guard<std::mutex> lock(mu);
        openers[static_cast<size_t>(i)] = nullptr;
        totals.failed += op.failed;
        for (const auto& [k, v] : op.errors) totals.errors[k] += v;
        if (totals.negotiated.empty()) totals.negotiated = op.negotiated;
    });
    if (!spawned) return spawned.error();
    while (settled.load() < threads) sleep_until_ns(now_ns() + 10000000ull);
    double open_s = static_cast<double>(now_ns() - t0) / 1e9;
    sleep_until_ns(now_ns() + seconds_to_ns(o.settle_s));
    ProcSnapshot after = server.sample();
    {
        std::lock_guard<std::mutex> lock(mu);
        for (IdleOpener* op : openers)
            if (op != nullptr) totals.established += op->established.load();
        for (IdleOpener* op : openers)
            if (op != nullptr) op->request_close();
    }
    join_all(*spawned);
    sleep_until_ns(now_ns() + seconds_to_ns(o.settle_s));
    ProcSnapshot closed = server.sample();

    if (!totals.negotiated.empty()) r.config("negotiated", totals.negotiated);
    int n = totals.established;
    auto per_conn = [n](uint64_t a, uint64_t b) {
        return n > 0 ? (static_cast<double>(b) - static_cast<double>(a)) * 1024.0 / n : 0.0;
    };
    r.section("connections");
    r.metric("established", n, "", "established and idle");
    r.metric("failed", totals.failed, "", "failed");
    r.metric("open_s", open_s, "s", "time to open them all");
    const double nan = std::nan("");
    const bool pss_ok = before.pss_ok && after.pss_ok;
    const bool fds_ok = before.fds_ok && after.fds_ok;
    auto pss = [&](double v) { return pss_ok ? v : nan; };
    r.section("server memory");
    r.metric("rss_per_conn_bytes", per_conn(before.rss_kib, after.rss_kib), "B",
             "RSS per idle connection");
    r.metric("pss_per_conn_bytes", pss(per_conn(before.pss_kib, after.pss_kib)), "B",
             "Pss per idle connection");
    r.metric("fds_per_conn",
             n > 0 && fds_ok ? (static_cast<double>(after.fds) - before.fds) / n : nan, "",
             "file descriptors per connection");
    r.metric("rss_before_kib", static_cast<double>(before.rss_kib), "KiB", "RSS before");
    r.metric("rss_idle_kib", static_cast<double>(after.rss_kib), "KiB",
             "RSS with the connections idle");
    r.metric("rss_after_close_kib", static_cast<double>(closed.rss_kib), "KiB",
             "RSS after closing them");
    r.metric("pss_before_kib", pss(static_cast<double>(before.pss_kib)), "KiB", "Pss before");
    r.metric("pss_idle_kib", pss(static_cast<double>(after.pss_kib)), "KiB",
             "Pss with the connections idle");
    r.metric("processes", before.processes, "", "server processes read");
    // Per process name (e.g. tlsward-net, tlsward-crypto, nginx): where the memory went.
    std::map<std::string, std::pair<double, double>> by_name;  // name -> (rss, pss) delta in KiB
    for (const auto& [pid, m] : after.memory) {
        auto it = before.memory.find(pid);
        if (it == before.memory.end()) continue;
        auto& d = by_name[m.name];
        d.first += static_cast<double>(m.rss_kib) - static_cast<double>(it->second.rss_kib);
        d.second += static_cast<double>(m.pss_kib) - static_cast<double>(it->second.pss_kib);
    }
    if (n > 0 && by_name.size() > 1) {
        r.section("server memory per idle connection, by process name");
        for (const auto& [name, d] : by_name) {
            r.metric("rss_per_conn_bytes." + name, d.first * 1024.0 / n, "B", "RSS, " + name);
            r.metric("pss_per_conn_bytes." + name, pss(d.second * 1024.0 / n), "B", "Pss, " + name);
        }
    }
    if (!pss_ok || !fds_ok)
        r.note(
            "Pss and fds of some server processes are not readable (not dumpable, or "
            "another user's): run as root for them");
    note_errors(r, "failed", totals.errors);
    if (n == 0)
        return err(ErrorKind::io, "no connection established through %s", o.address.c_str());
    return {};
}

}  // namespace tlsward::bench
