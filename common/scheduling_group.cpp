#include "common/scheduling_group.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/log.hpp"

namespace tlsward {

namespace {

constexpr const char* kSelf = "/proc/self/autogroup";

const char* why_refused(int e) {
    if (e == EAGAIN)
        return "the kernel kept refusing autogroup changes (one per 100 ms on the machine "
               "without CAP_SYS_ADMIN)";
    if (e == EPERM || e == EACCES)
        return "a nice value below 0 needs CAP_SYS_NICE or RLIMIT_NICE (LimitNICE= in a "
               "systemd unit)";
    return "unexpected";
}

}  // namespace

int set_realtime_policy(pid_t pid, int priority) {
    int policy = priority > 0 ? SCHED_RR : SCHED_OTHER;
    int current = sched_getscheduler(pid);
    sched_param now{};
    if (current >= 0 && (current & ~SCHED_RESET_ON_FORK) == policy &&
        sched_getparam(pid, &now) == 0 && now.sched_priority == priority)
        return 0;
    sched_param param{};
    param.sched_priority = priority;
    if (sched_setscheduler(pid, priority > 0 ? policy | SCHED_RESET_ON_FORK : policy, &param) == 0)
        return 0;
    return errno;
}

void enter_realtime(int priority) {
    int e = set_realtime_policy(0, priority);
    if (e == 0) return;
    LOG_INFO("event=realtime_unavailable priority=%d error=\"%s\" reason=\"%s\"", priority,
             strerror(e),
             e == EPERM ? "SCHED_RR needs CAP_SYS_NICE or RLIMIT_RTPRIO (LimitRTPRIO= in a systemd "
                          "unit); the process runs as a normal one"
                        : "unexpected; the process runs as a normal one");
}

bool read_autogroup_nice(const char* path, int& nice) {
    FILE* f = fopen(path, "re");
    if (!f) return false;
    int id = 0;
    bool ok = fscanf(f, "/autogroup-%d nice %d", &id, &nice) == 2;
    fclose(f);
    return ok;
}

int write_autogroup_nice(const char* path, int nice) {
    FILE* f = fopen(path, "we");
    if (!f) return errno;
    fprintf(f, "%d", nice);
    // The value reaches the kernel at fclose, and so does its answer.
    return fclose(f) == 0 ? 0 : errno;
}

void join_own_scheduling_group(int nice) {
    // Fails only for a session leader, which a child of the supervisor
    // never is.
    if (setsid() < 0)
        LOG_INFO(
            "event=scheduling_note note=\"setsid: %s; the process stays in the "
            "supervisor's autogroup\"",
            strerror(errno));
    errno = 0;
    if (getpriority(PRIO_PROCESS, 0) != nice || errno != 0) {
        if (setpriority(PRIO_PROCESS, 0, nice) != 0) {
            int e = errno;
            LOG_INFO("event=nice_unavailable nice=%d error=\"%s\" reason=\"%s\"", nice, strerror(e),
                     why_refused(e));
        }
    }
    int current = 0;
    if (!read_autogroup_nice(kSelf, current) || current == nice) return;
    const timespec pause{0, 20 * 1000 * 1000};
    int e = 0;
    for (int tries = 0; tries < 100; ++tries) {
        e = write_autogroup_nice(kSelf, nice);
        if (e != EAGAIN) break;
        nanosleep(&pause, nullptr);
    }
    if (e != 0)
        LOG_INFO(
            "event=autogroup_nice_unavailable nice=%d error=\"%s\" reason=\"%s; the autogroup "
            "keeps nice %d, so the nice value ranks this process only within it\"",
            nice, strerror(e), why_refused(e), current);
}

}  // namespace tlsward
