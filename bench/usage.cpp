#include "bench/usage.hpp"

#include <cstdarg>
#include <cstdio>

#include "bench/clock.hpp"

namespace tlsward::bench {

ServerProcs server_procs(const Options& o) {
    return ServerProcs(o.pids, o.supervisor_pids);
}

WindowUsage watch_window(const ServerProcs& server, uint64_t from_ns, uint64_t to_ns) {
    WindowUsage u;
    sleep_until_ns(from_ns);
    CpuTimes c0 = self_cpu();
    uint64_t t0 = now_ns();
    if (!server.empty()) u.server_before = server.sample(false);
    sleep_until_ns(to_ns);
    CpuTimes c1 = self_cpu();
    uint64_t t1 = now_ns();
    if (!server.empty()) {
        u.server_after = server.sample(false);
        u.have_server = u.server_before.processes > 0;
        u.server_cpu_s = cpu_seconds_between(u.server_before, u.server_after);
    }
    u.seconds = static_cast<double>(t1 - t0) / 1e9;
    u.client = c1 - c0;
    return u;
}

void report_usage(Report& r, const WindowUsage& u, const std::string& prefix, double units,
                  const std::string& unit_key, const std::string& unit_label) {
    if (u.seconds <= 0) return;
    r.metric(prefix + "client_cpu_cores", u.client.total() / u.seconds, "cores",
             "tlsward-bench CPU (1.0 = one core busy)");
    if (!u.have_server) return;
    r.metric(prefix + "server_cpu_cores", u.server_cpu_s / u.seconds, "cores",
             "server CPU, all its processes");
    if (units > 0 && !unit_key.empty()) {
        r.metric(prefix + "server_cpu_ms_per_" + unit_key, u.server_cpu_s * 1e3 / units, "ms",
                 "server CPU per " + unit_label);
        // Split by process name when the server has several kinds.
        auto by_name = cpu_seconds_by_name(u.server_before, u.server_after);
        if (by_name.size() > 1)
            for (const auto& [name, secs] : by_name)
                r.metric(prefix + "server_cpu_ms_per_" + unit_key + "." + name, secs * 1e3 / units,
                         "ms", "  of which " + name);
    }
}

void progress(const Options& o, const char* fmt, ...) {
    if (o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    std::fputs("tlsward-bench: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
}

}  // namespace tlsward::bench
