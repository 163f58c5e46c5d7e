// handshakes: new TLS connections for a duration at a fixed concurrency
// (closed loop: each finished connection starts the next). Reports the
// rate, the latency from connect() to the client's Finished, and the CPU
// both sides spent.
#include <vector>

#include "bench/clock.hpp"
#include "bench/handshake_loop.hpp"
#include "bench/loop_thread.hpp"
#include "bench/modes.hpp"
#include "bench/usage.hpp"

namespace tlsward::bench {

void report_client_config(const Options& o, Report& r) {
    r.config("server", o.address);
    r.config("tls", o.tls12 ? "1.2" : "1.3");
    if (!o.cipher.empty()) r.config("cipher", o.cipher);
    r.config("groups", o.groups);
    r.config("threads", o.threads);
}

Status run_handshakes(const Options& o, Report& r) {
    report_client_config(o, r);
    r.config("concurrency", o.concurrency);
    r.config("resume", o.resume ? "yes" : "no");
    r.config("request", o.request ? "yes" : "no");
    r.config("duration_s", o.duration_s);
    r.config("warmup_s", o.warmup_s);

    int threads = std::min(o.threads, o.concurrency);
    std::vector<HandshakeCounts> counts(static_cast<size_t>(threads));
    uint64_t start = now_ns() + 50000000ull;
    uint64_t from = start + seconds_to_ns(o.warmup_s);
    uint64_t to = from + seconds_to_ns(o.duration_s);
    progress(o, "handshakes against %s for %.1f s (+%.1f s warm-up), %d in flight",
             o.address.c_str(), o.duration_s, o.warmup_s, o.concurrency);
    auto spawned = spawn_threads(o, threads, [&](int i, uv_loop_t* loop, ClientContext& tls) {
        HandshakeLoop hl(loop, tls, reinterpret_cast<const sockaddr*>(&o.addr),
                         share(o.concurrency, threads, i), o.request);
        hl.schedule(start, from, to);
        uv_run(loop, UV_RUN_DEFAULT);
        counts[static_cast<size_t>(i)] = hl.counts();
    });
    if (!spawned) return spawned.error();
    WindowUsage usage = watch_window(server_procs(o), from, to);
    join_all(*spawned);

    HandshakeCounts all;
    for (const auto& c : counts) all.merge(c);
    if (!all.negotiated.empty()) r.config("negotiated", all.negotiated);
    double secs = usage.seconds;
    LatencySummary lat = all.latency.summarize();
    r.section("handshakes");
    r.metric("handshakes_per_s", static_cast<double>(all.ok) / secs, "/s",
             o.resume ? "handshakes per second" : "full handshakes per second");
    r.metric("handshakes", static_cast<double>(all.ok), "", "handshakes completed");
    r.metric("failed", static_cast<double>(all.failed), "", "connections failed");
    if (o.resume)
        r.metric("resumed_fraction", all.ok ? static_cast<double>(all.resumed) / all.ok : 0, "",
                 "fraction that resumed a session");
    r.section("latency, connect() to handshake done");
    r.metric("latency_p50_ms", lat.p50_ms, "ms", "p50");
    r.metric("latency_p90_ms", lat.p90_ms, "ms", "p90");
    r.metric("latency_p99_ms", lat.p99_ms, "ms", "p99");
    r.metric("latency_max_ms", lat.max_ms, "ms", "max");
    r.section("CPU during the window");
    report_usage(r, usage, "", static_cast<double>(all.ok), "handshake", "handshake");
    if (o.resume && all.ok > 0 && all.resumed == 0)
        r.note("no handshake resumed: the server issued no usable session");
    note_errors(r, "failed", all.errors);
    if (all.ok == 0)
        return err(ErrorKind::io, "no handshake completed against %s", o.address.c_str());
    return {};
}

}  // namespace tlsward::bench
