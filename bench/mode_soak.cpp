// soak: handshake churn and bulk transfer at the same time for a duration
// (bulk connections are replaced every 64 MiB, so that path churns too).
// The server's fd count and RSS are read before, every second during, and
// after everything closed and settled: a leak shows as end > start.
#include <algorithm>
#include <cmath>
#include <vector>

#include "bench/bulk_loop.hpp"
#include "bench/clock.hpp"
#include "bench/handshake_loop.hpp"
#include "bench/loop_thread.hpp"
#include "bench/modes.hpp"
#include "bench/protocol.hpp"
#include "bench/usage.hpp"

namespace tlsward::bench {

Status run_soak(const Options& o, Report& r) {
    report_client_config(o, r);
    r.config("concurrency", o.concurrency);
    r.config("bulk_connections", o.connections);
    r.config("duration_s", o.duration_s);
    r.config("settle_s", o.settle_s);
    constexpr uint64_t kReconnectAfter = 64ull << 20;

    ServerProcs server = server_procs(o);
    ProcSnapshot start_snap = server.sample();
    int up_conns = (o.connections + 1) / 2;
    int down_conns = o.connections - up_conns;
    int threads = o.threads;
    struct PerThread {
        HandshakeCounts hs;
        BulkCounts up;
        BulkCounts down;
    };
    std::vector<PerThread> results(static_cast<size_t>(threads));
    uint64_t start = now_ns() + 50000000ull;
    uint64_t end = start + seconds_to_ns(o.duration_s);
    progress(o, "soak against %s for %.1f s: %d handshakes in flight, %d bulk connections",
             o.address.c_str(), o.duration_s, o.concurrency, o.connections);
    auto spawned = spawn_threads(o, threads, [&](int i, uv_loop_t* loop, ClientContext& tls) {
        const auto* addr = reinterpret_cast<const sockaddr*>(&o.addr);
        HandshakeLoop hl(loop, tls, addr, std::max(1, share(o.concurrency, threads, i)), false);
        BulkLoop up(loop, tls, addr, share(up_conns, threads, i), kModeUpload, kReconnectAfter);
        BulkLoop down(loop, tls, addr, share(down_conns, threads, i), kModeDownload,
                      kReconnectAfter);
        hl.schedule(start, start, end);
        up.schedule(start, start, end);
        down.schedule(start, start, end);
        uv_run(loop, UV_RUN_DEFAULT);
        results[static_cast<size_t>(i)] = {hl.counts(), up.counts(), down.counts()};
    });
    if (!spawned) return spawned.error();

    sleep_until_ns(start);
    CpuTimes c0 = self_cpu();
    ProcSnapshot s0 = server.sample(false);
    uint64_t rss_max = start_snap.rss_kib;
    uint64_t fds_max = start_snap.fds;
    for (uint64_t t = start + 1000000000ull; t < end; t += 1000000000ull) {
        sleep_until_ns(t);
        ProcSnapshot s = server.sample(false);
        rss_max = std::max(rss_max, s.rss_kib);
        fds_max = std::max(fds_max, s.fds);
    }
    sleep_until_ns(end);
    CpuTimes c1 = self_cpu();
    ProcSnapshot s1 = server.sample(false);
    join_all(*spawned);
    sleep_until_ns(now_ns() + seconds_to_ns(o.settle_s));
    ProcSnapshot end_snap = server.sample();

    PerThread all;
    for (const auto& p : results) {
        all.hs.merge(p.hs);
        all.up.merge(p.up);
        all.down.merge(p.down);
    }
    if (!all.hs.negotiated.empty()) r.config("negotiated", all.hs.negotiated);
    double secs = o.duration_s;
    r.section("load");
    r.metric("handshakes", static_cast<double>(all.hs.ok), "", "handshakes completed");
    r.metric("handshakes_per_s", static_cast<double>(all.hs.ok) / secs, "/s",
             "handshakes per second");
    r.metric("handshakes_failed", static_cast<double>(all.hs.failed), "",
             "handshake connections failed");
    r.metric("bulk_MBps", static_cast<double>(all.up.bytes + all.down.bytes) / 1e6 / secs, "MB/s",
             "bulk, both directions");
    r.metric("bulk_connections", static_cast<double>(all.up.connections + all.down.connections), "",
             "bulk connections used");
    r.metric("bulk_failed", static_cast<double>(all.up.failed + all.down.failed), "",
             "bulk connections failed");
    if (start_snap.processes > 0) {
        const double nan = std::nan("");
        const bool fds_ok = start_snap.fds_ok && end_snap.fds_ok;
        const bool pss_ok = start_snap.pss_ok && end_snap.pss_ok;
        auto fd = [&](uint64_t v) { return fds_ok ? static_cast<double>(v) : nan; };
        auto pss = [&](uint64_t v) { return pss_ok ? static_cast<double>(v) : nan; };
        r.section("server processes");
        r.metric("fds_start", fd(start_snap.fds), "", "open fds at start");
        r.metric("fds_max", fd(fds_max), "", "open fds, most seen");
        r.metric("fds_end", fd(end_snap.fds), "", "open fds at the end");
        r.metric("rss_start_kib", static_cast<double>(start_snap.rss_kib), "KiB", "RSS at start");
        r.metric("rss_max_kib", static_cast<double>(rss_max), "KiB", "RSS, most seen");
        r.metric("rss_end_kib", static_cast<double>(end_snap.rss_kib), "KiB", "RSS at the end");
        r.metric("pss_start_kib", pss(start_snap.pss_kib), "KiB", "Pss at start");
        r.metric("pss_end_kib", pss(end_snap.pss_kib), "KiB", "Pss at the end");
        r.metric("processes_end", end_snap.processes, "", "server processes at the end");
        if (!fds_ok || !pss_ok)
            r.note(
                "fds and Pss of some server processes are not readable (not dumpable, or "
                "another user's): run as root for them");
        if (end_snap.processes != start_snap.processes)
            r.note(strfmt("the server had %d processes at start and %d at the end",
                          start_snap.processes, end_snap.processes));
        // Each process that lived through the soak: growth points at its
        // owner (keys are COMM_PID, e.g. tlsward-net_1234_rss_end_kib).
        r.section("each server process");
        for (const auto& [pid, first] : start_snap.memory) {
            auto last = end_snap.memory.find(pid);
            if (last == end_snap.memory.end()) continue;
            std::string who = strfmt("%s_%d", first.name.c_str(), static_cast<int>(pid));
            r.metric(who + "_rss_start_kib", static_cast<double>(first.rss_kib), "KiB",
                     "RSS at start");
            r.metric(who + "_rss_end_kib", static_cast<double>(last->second.rss_kib), "KiB",
                     "RSS at the end");
            if (first.fds >= 0 && last->second.fds >= 0) {
                r.metric(who + "_fds_start", static_cast<double>(first.fds), "", "fds at start");
                r.metric(who + "_fds_end", static_cast<double>(last->second.fds), "",
                         "fds at the end");
            }
        }
    }
    WindowUsage usage;
    usage.seconds = static_cast<double>(end - start) / 1e9;
    usage.client = c1 - c0;
    usage.have_server = s0.processes > 0;
    usage.server_before = s0;
    usage.server_after = s1;
    usage.server_cpu_s = cpu_seconds_between(s0, s1);
    r.section("CPU");
    report_usage(r, usage, "");
    note_errors(r, "handshake", all.hs.errors);
    note_errors(r, "bulk up", all.up.errors);
    note_errors(r, "bulk down", all.down.errors);
    if (all.hs.ok == 0)
        return err(ErrorKind::io, "no handshake completed against %s", o.address.c_str());
    return {};
}

}  // namespace tlsward::bench
