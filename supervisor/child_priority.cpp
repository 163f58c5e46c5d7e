#include "supervisor/child_priority.hpp"

#include <cerrno>
#include <cstring>

#include <sys/resource.h>

#include "common/log.hpp"

namespace tlsward::supervisor {

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

}  // namespace tlsward::supervisor
