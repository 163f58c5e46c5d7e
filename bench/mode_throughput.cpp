// throughput: bulk transfer over N connections, upload then download (or
// one of them). Upload counts what the backend acknowledged, download what
// the client decrypted, both inside the window only. MB = 10^6 bytes.
#include <vector>

#include "bench/bulk_loop.hpp"
#include "bench/clock.hpp"
#include "bench/loop_thread.hpp"
#include "bench/modes.hpp"
#include "bench/protocol.hpp"
#include "bench/usage.hpp"

namespace tlsward::bench {
namespace {

struct PhaseResult {
    BulkCounts counts;
    WindowUsage usage;
};

Result<PhaseResult> run_phase(const Options& o, uint8_t direction) {
    int threads = std::min(o.threads, o.connections);
    std::vector<BulkCounts> counts(static_cast<size_t>(threads));
    uint64_t start = now_ns() + 50000000ull;
    uint64_t from = start + seconds_to_ns(o.warmup_s);
    uint64_t to = from + seconds_to_ns(o.duration_s);
    auto spawned = spawn_threads(o, threads, [&](int i, uv_loop_t* loop, ClientContext& tls) {
        BulkLoop bl(loop, tls, reinterpret_cast<const sockaddr*>(&o.addr),
                    share(o.connections, threads, i), direction);
        bl.schedule(start, from, to);
        uv_run(loop, UV_RUN_DEFAULT);
        counts[static_cast<size_t>(i)] = bl.counts();
    });
    if (!spawned) return spawned.error();
    PhaseResult out;
    out.usage = watch_window(server_procs(o), from, to);
    join_all(*spawned);
    for (const auto& c : counts) out.counts.merge(c);
    return out;
}

}  // namespace

Status run_throughput(const Options& o, Report& r) {
    report_client_config(o, r);
    r.config("connections", o.connections);
    r.config("duration_s", o.duration_s);
    r.config("warmup_s", o.warmup_s);

    struct Dir {
        const char* name;
        uint8_t mode;
        const char* label;
    };
    const Dir dirs[] = {{"up", kModeUpload, "upload (client to backend)"},
                        {"down", kModeDownload, "download (backend to client)"}};
    bool any = false;
    for (const Dir& d : dirs) {
        if (o.direction != "both" && o.direction != d.name) continue;
        progress(o, "%s over %d connections to %s for %.1f s", d.name, o.connections,
                 o.address.c_str(), o.duration_s);
        auto res = run_phase(o, d.mode);
        if (!res) return res.error();
        const PhaseResult& p = *res;
        if (!p.counts.negotiated.empty()) r.config("negotiated", p.counts.negotiated);
        std::string key = d.name;
        double mb = static_cast<double>(p.counts.bytes) / 1e6;
        r.section(d.label);
        r.metric(key + "_MBps", mb / p.usage.seconds, "MB/s", "throughput");
        r.metric(key + "_failed", static_cast<double>(p.counts.failed), "", "connections failed");
        report_usage(r, p.usage, key + "_", mb / 1000, "GB", "GB");
        note_errors(r, key, p.counts.errors);
        if (p.counts.bytes == 0)
            return err(ErrorKind::io, "%s: no byte moved through %s", d.name, o.address.c_str());
        any = true;
    }
    if (!any)
        return err(ErrorKind::config, "nothing to do for --direction %s", o.direction.c_str());
    return {};
}

}  // namespace tlsward::bench
