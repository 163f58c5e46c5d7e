// CPU use during a measurement window: this process (all threads) and the
// server's processes, sampled by the main thread at the window's edges. A
// reader compares the two to see whether the client or the server was the
// limit.
#pragma once

#include <cstdint>
#include <string>

#include "bench/options.hpp"
#include "bench/proc_stats.hpp"
#include "bench/report.hpp"

namespace tlsward::bench {

struct WindowUsage {
    double seconds = 0;
    CpuTimes client;
    bool have_server = false;
    double server_cpu_s = 0;
    ProcSnapshot server_before;
    ProcSnapshot server_after;
};

// Sleeps until from_ns, samples, sleeps until to_ns, samples.
WindowUsage watch_window(const ServerProcs& server, uint64_t from_ns, uint64_t to_ns);

// Adds "<prefix>client_cpu_cores", "<prefix>server_cpu_cores" (and, when
// per_unit_label is given, "<prefix>server_cpu_ms_per_<unit_key>").
void report_usage(Report& r, const WindowUsage& u, const std::string& prefix, double units = 0,
                  const std::string& unit_key = "", const std::string& unit_label = "");

ServerProcs server_procs(const Options& o);

// Progress on stderr unless --quiet.
void progress(const Options& o, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace tlsward::bench
