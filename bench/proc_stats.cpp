#include "bench/proc_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>

namespace tlsward::bench {
namespace {

// Fields of /proc/PID/stat after the command name, which may contain spaces
// and parentheses: everything after the last ')'.
bool read_stat_fields(pid_t pid, std::vector<std::string>& fields) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return false;
    size_t close = line.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 1));
    fields.clear();
    std::string field;
    while (rest >> field) fields.push_back(field);
    return fields.size() > 13;
}

// "VmRSS:     1234 kB" style lines; nothing when the file cannot be read.
std::optional<uint64_t> read_kib_field(const std::string& path, const char* key) {
    std::ifstream f(path);
    std::string line;
    size_t klen = std::strlen(key);
    while (std::getline(f, line)) {
        if (line.compare(0, klen, key) == 0 && line.size() > klen && line[klen] == ':')
            return std::strtoull(line.c_str() + klen + 1, nullptr, 10);
    }
    return std::nullopt;
}

std::optional<uint64_t> count_fds(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return std::nullopt;
    uint64_t n = 0;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n;
}

}  // namespace

std::vector<pid_t> descendants(pid_t root) {
    std::multimap<pid_t, pid_t> children;  // ppid -> pid
    DIR* d = opendir("/proc");
    if (d == nullptr) return {};
    std::vector<std::string> fields;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        auto pid = static_cast<pid_t>(std::atoi(e->d_name));
        if (!read_stat_fields(pid, fields)) continue;
        // fields[0] is the state, fields[1] the parent pid.
        children.emplace(static_cast<pid_t>(std::atoi(fields[1].c_str())), pid);
    }
    closedir(d);
    std::vector<pid_t> out;
    std::vector<pid_t> todo{root};
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        auto [lo, hi] = children.equal_range(p);
        for (auto it = lo; it != hi; ++it) {
            out.push_back(it->second);
            todo.push_back(it->second);
        }
    }
    return out;
}

std::vector<pid_t> ServerProcs::current_pids() const {
    std::set<pid_t> all(pids_.begin(), pids_.end());
    for (pid_t s : supervisors_) {
        all.insert(s);
        for (pid_t c : descendants(s)) all.insert(c);
    }
    return {all.begin(), all.end()};
}

ProcSnapshot ServerProcs::sample(bool with_pss) const {
    ProcSnapshot s;
    std::vector<std::string> fields;
    for (pid_t pid : current_pids()) {
        if (!read_stat_fields(pid, fields)) continue;
        // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
        uint64_t ticks = std::strtoull(fields[11].c_str(), nullptr, 10) +
                         std::strtoull(fields[12].c_str(), nullptr, 10);
        std::string base = "/proc/" + std::to_string(pid);
        s.cpu_ticks[pid] = ticks;
        ProcMemory& m = s.memory[pid];
        std::ifstream comm(base + "/comm");
        std::getline(comm, m.name);
        m.rss_kib = read_kib_field(base + "/status", "VmRSS").value_or(0);
        if (with_pss) {
            auto pss = read_kib_field(base + "/smaps_rollup", "Pss");
            s.pss_ok = s.pss_ok && pss.has_value();
            m.pss_kib = pss.value_or(0);
        }
        s.rss_kib += m.rss_kib;
        s.pss_kib += m.pss_kib;
        auto fds = count_fds(pid);
        s.fds_ok = s.fds_ok && fds.has_value();
        s.fds += fds.value_or(0);
        if (fds) m.fds = static_cast<int64_t>(*fds);
        ++s.processes;
    }
    return s;
}

namespace {
// Calls f(pid, seconds) for each process in both snapshots.
template <class F>
void for_each_cpu_delta(const ProcSnapshot& a, const ProcSnapshot& b, F f) {
    static const long hz = sysconf(_SC_CLK_TCK);
    for (const auto& [pid, after] : b.cpu_ticks) {
        auto it = a.cpu_ticks.find(pid);
        if (it == a.cpu_ticks.end() || after < it->second) continue;
        f(pid, static_cast<double>(after - it->second) / static_cast<double>(hz > 0 ? hz : 100));
    }
}
}  // namespace

double cpu_seconds_between(const ProcSnapshot& a, const ProcSnapshot& b) {
    double total = 0;
    for_each_cpu_delta(a, b, [&](auto, double s) { total += s; });
    return total;
}

std::map<std::string, double> cpu_seconds_by_name(const ProcSnapshot& a, const ProcSnapshot& b) {
    std::map<std::string, double> out;
    for_each_cpu_delta(a, b, [&](auto pid, double s) {
        auto name = b.memory.find(pid);
        if (name != b.memory.end()) out[name->second.name] += s;
    });
    return out;
}

CpuTimes self_cpu() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return {sec(ru.ru_utime), sec(ru.ru_stime)};
}

CpuTimes operator-(const CpuTimes& a, const CpuTimes& b) {
    return {a.user_s - b.user_s, a.sys_s - b.sys_s};
}

}  // namespace tlsward::bench
