#pragma once
// Scheduling priority of the children: established connections (netproc)
// ahead of handshakes (helpers), so a handshake flood cannot delay traffic.
// Each child sets its own nice value, in an autogroup of its own, when it
// starts (--nice, common/scheduling_group.hpp); these are for a reload,
// which gives the running netproc a new netproc_nice.

#include <string>

#include <sys/types.h>
#include <uv.h>

#include "common/uv_handles.hpp"

namespace tlsward::supervisor {

// Sets pid's nice value. A negative value needs CAP_SYS_NICE; without it
// the child keeps the supervisor's and one info line says so (once per
// supervisor: a user trying tlsward unprivileged is not doing wrong).
void set_child_nice(const std::string& name, pid_t pid, int nice);

// Its scheduling policy, for a reload that changes
// netproc_realtime_priority: SCHED_RR at `priority`, or back to a normal
// process (its nice value unchanged) for 0. Changing another user's
// process needs CAP_SYS_NICE: without it, one info line, and the value
// applies when netproc next starts.
void set_child_realtime(const std::string& name, pid_t pid, int priority);

// And its autogroup's (common/scheduling_group.hpp), for a reload that
// changes netproc_nice. Writing another process's /proc/PID/autogroup
// needs root (the children are not dumpable, so the file is root's): as
// another user netproc keeps the old value until it restarts, and one info
// line says so. The kernel's rate limit (one change per 100 ms without
// CAP_SYS_ADMIN, and a reload's new helpers take their turns first) is
// waited out on a timer.
class AutogroupNice {
public:
    explicit AutogroupNice(uv_loop_t* loop);
    void set(const std::string& name, pid_t pid, int nice);

private:
    void attempt();

    UvTimer timer_;
    std::string name_;
    pid_t pid_ = 0;
    int nice_ = 0;
    int tries_ = 0;
};

}  // namespace tlsward::supervisor
