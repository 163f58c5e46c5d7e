#include "supervisor/child_priority.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <sys/resource.h>

#include "common/log.hpp"
#include "common/scheduling_group.hpp"

namespace tlsward::supervisor {

namespace {

constexpr uint64_t kRetryMs = 110;
constexpr int kMaxTries = 30;

}  // namespace

void set_child_nice(const std::string& name, pid_t pid, int nice) {
    errno = 0;
    int current = getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
    if (errno == 0 && current == nice) return;
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(pid), nice) == 0) return;
    int e = errno;
    if ((e == EACCES || e == EPERM) && nice < 0) {
        static bool said = false;
        if (!said) {
            LOG_INFO(
                "event=nice_unavailable process=%s nice=%d reason=\"lowering the nice value "
                "needs CAP_SYS_NICE; the process keeps nice %d\"",
                name.c_str(), nice, current);
            said = true;
        }
        return;
    }
    // ESRCH: the child died already; its exit is reported elsewhere.
    if (e != ESRCH)
        LOG_WARN("event=nice_failed process=%s nice=%d error=\"%s\"", name.c_str(), nice,
                 strerror(e));
}

void set_child_realtime(const std::string& name, pid_t pid, int priority) {
    int e = set_realtime_policy(pid, priority);
    if (e == 0 || e == ESRCH) return;  // ESRCH: the child died already; reported elsewhere
    LOG_INFO("event=realtime_unavailable process=%s priority=%d error=\"%s\" reason=\"%s\"",
             name.c_str(), priority, strerror(e),
             e == EPERM ? "changing another user's process needs CAP_SYS_NICE; the value applies "
                          "when it next starts"
                        : "unexpected; the value applies when it next starts");
}

AutogroupNice::AutogroupNice(uv_loop_t* loop) : timer_(loop, [this] { attempt(); }) {}

void AutogroupNice::set(const std::string& name, pid_t pid, int nice) {
    name_ = name;
    pid_ = pid;
    nice_ = nice;
    tries_ = 0;
    timer_.stop();
    attempt();
}

void AutogroupNice::attempt() {
    std::string path = "/proc/" + std::to_string(pid_) + "/autogroup";
    int current = 0;
    if (!read_autogroup_nice(path.c_str(), current) || current == nice_) return;
    int e = write_autogroup_nice(path.c_str(), nice_);
    if (e == EAGAIN && ++tries_ < kMaxTries) {
        timer_.start(kRetryMs);
        return;
    }
    if (e == 0 || e == ESRCH || e == ENOENT) return;
    LOG_INFO(
        "event=autogroup_nice_unavailable process=%s nice=%d error=\"%s\" reason=\"its autogroup "
        "keeps nice %d until it restarts\"",
        name_.c_str(), nice_, strerror(e), current);
}

}  // namespace tlsward::supervisor
