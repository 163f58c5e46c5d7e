#include "common/child_bootstrap.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "common/scheduling_group.hpp"

namespace tlsward {

namespace {

bool parse_u32(const char* s, uint32_t& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > 0xffffffffUL) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

bool parse_nice(const char* s, int& out) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < -20 || v > 19) return false;
    out = static_cast<int>(v);
    return true;
}

}  // namespace

Result<ChildArgs> parse_child_args(int argc, char** argv) {
    ChildArgs a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (i + 1 >= argc) return err(ErrorKind::config, "%s: missing value", k.c_str());
        const char* v = argv[++i];
        uint32_t n = 0;
        if (k == "--slot" && parse_u32(v, n)) {
            a.slot = n;
        } else if (k == "--generation" && parse_u32(v, n)) {
            a.generation = n;
        } else if (k == "--parent-pid" && parse_u32(v, n)) {
            a.parent_pid = static_cast<pid_t>(n);
        } else if (k == "--log-level" && parse_log_level(v, a.log_level)) {
        } else if (int nice = 0; k == "--nice" && parse_nice(v, nice)) {
            a.nice = nice;
        } else if (k == "--realtime" && parse_u32(v, n) && n >= 1 && n <= 99) {
            a.realtime_priority = static_cast<int>(n);
        } else if (k == "--uid" && parse_u32(v, n)) {
            a.identity.uid = static_cast<uid_t>(n);
        } else if (k == "--gid" && parse_u32(v, n)) {
            a.identity.gid = static_cast<gid_t>(n);
        } else if (k == "--chroot" && v[0] == '/') {
            a.identity.chroot_dir = v;
        } else if (k == "--journal-fd" && parse_u32(v, n) && n == kJournalFd) {
            a.journal = true;
        } else if (k == "--sandbox-selftest" && v[0] != '\0') {
            a.sandbox_selftest = v;
        } else {
            return err(ErrorKind::config, "bad argument %s %s (this program is started by tlsward)",
                       k.c_str(), v);
        }
    }
    if (a.identity.uid.has_value() != a.identity.gid.has_value())
        return err(ErrorKind::config, "--uid and --gid go together");
    if (!a.identity.chroot_dir.empty() && !a.identity.uid)
        return err(ErrorKind::config, "--chroot needs --uid and --gid");
    if (a.parent_pid == 0 && a.sandbox_selftest.empty())
        return err(ErrorKind::config, "--parent-pid missing (this program is started by tlsward)");
    return a;
}

void child_bootstrap(const ChildArgs& args, const std::string& comm_name) {
    log_set_level(args.log_level);
    if (args.journal) log_set_journal_fd(kJournalFd);
    prctl(PR_SET_NAME, comm_name.substr(0, 15).c_str(), 0, 0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        LOG_ERROR("event=exit reason=\"prctl(PR_SET_PDEATHSIG): %s\"", strerror(errno));
        std::_Exit(1);
    }
    if (getppid() != args.parent_pid) {
        LOG_ERROR("event=exit reason=\"supervisor %d is gone\"", static_cast<int>(args.parent_pid));
        std::_Exit(1);
    }
    // Before the sandbox: /proc/self/autogroup is root's once the process
    // is not dumpable, and the user it becomes could not write it.
    if (args.nice) join_own_scheduling_group(*args.nice);
    if (args.realtime_priority > 0) enter_realtime(args.realtime_priority);
}

}  // namespace tlsward
