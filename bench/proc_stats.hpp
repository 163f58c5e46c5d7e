// What /proc says about the server's processes (memory, fds, CPU time) and
// what getrusage says about tlsward-bench itself.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tlsward::bench {

struct ProcMemory {
    std::string name;  // /proc/PID/comm
    uint64_t rss_kib = 0;
    uint64_t pss_kib = 0;
    int64_t fds = -1;  // -1: not readable (see ProcSnapshot::fds_ok)
};

struct ProcSnapshot {
    int processes = 0;     // how many of the pids could be read
    uint64_t rss_kib = 0;  // sum of VmRSS
    uint64_t pss_kib = 0;  // sum of Pss (smaps_rollup); shared pages split between sharers
    uint64_t fds = 0;      // open file descriptors
    // Pss and fds need ptrace-read access to each process: false when some
    // process did not allow it (a non-dumpable process of another user, or
    // of ours without privilege), and the sums above are then incomplete.
    bool pss_ok = true;
    bool fds_ok = true;
    std::map<pid_t, uint64_t> cpu_ticks;  // utime + stime per pid
    std::map<pid_t, ProcMemory> memory;   // per pid
};

// The server's processes: fixed pids plus each supervisor and all of its
// descendants, looked up again at every sample (children may be restarted).
class ServerProcs {
public:
    ServerProcs(std::vector<pid_t> pids, std::vector<pid_t> supervisors)
        : pids_(std::move(pids)), supervisors_(std::move(supervisors)) {}
    bool empty() const { return pids_.empty() && supervisors_.empty(); }
    std::vector<pid_t> current_pids() const;
    ProcSnapshot sample(bool with_pss = true) const;

private:
    std::vector<pid_t> pids_;
    std::vector<pid_t> supervisors_;
};

// Every descendant of pid (children, grandchildren, ...), from /proc/*/stat.
std::vector<pid_t> descendants(pid_t pid);

// CPU seconds used between two snapshots by the processes present in both.
double cpu_seconds_between(const ProcSnapshot& a, const ProcSnapshot& b);
// The same, per process name (/proc/PID/comm): where a multi-process
// server spends its CPU (tlsward: supervisor, netproc, helpers).
std::map<std::string, double> cpu_seconds_by_name(const ProcSnapshot& a, const ProcSnapshot& b);

struct CpuTimes {
    double user_s = 0;
    double sys_s = 0;
    double total() const { return user_s + sys_s; }
};
// This process, all threads.
CpuTimes self_cpu();
CpuTimes operator-(const CpuTimes& a, const CpuTimes& b);

}  // namespace tlsward::bench
