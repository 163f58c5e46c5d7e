// What every child process (netproc, cryptoproc) does first: parse the
// arguments the supervisor gave it, make sure it dies with the supervisor,
// and find its control channel. The supervisor (supervisor/child_process.cpp)
// execs children as:
//
//   <exe> --slot N --generation G --parent-pid P [--log-level L] [--nice N]
//         [--realtime PRIORITY]
//         [--uid U --gid G [--chroot DIR]]
//
// with argv[0] set to the process title ("tlsward: netproc",
// "tlsward: crypto[0]") and the control channel on fd 3. --uid/--gid/
// --chroot are given when the supervisor runs as root: the child becomes
// that user in that empty directory (common/sandbox.hpp). `tlsward selftest
// sandbox` starts a child as
//
//   <exe> --sandbox-selftest PROBE [--uid U --gid G [--chroot DIR]]
//
// which applies the role's sandbox, makes one forbidden call and reports.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/log.hpp"
#include "common/result.hpp"
#include "common/sandbox.hpp"

namespace tlsward {

constexpr int kControlFd = 3;
// With "--journal-fd 4": the supervisor's connected journal socket
// (common/journal_log.hpp), kept open through the sandbox.
constexpr int kJournalFd = 4;

struct ChildArgs {
    uint32_t slot = 0;
    uint32_t generation = 0;
    pid_t parent_pid = 0;
    LogLevel log_level = LogLevel::info;
    sandbox::Identity identity;
    std::string sandbox_selftest;  // the probe to run; empty = a normal start
    bool journal = false;          // kJournalFd is a journal socket
    std::optional<int> nice;       // join_own_scheduling_group(nice) at start
    int realtime_priority = 0;     // > 0: enter_realtime(it) at start
};

Result<ChildArgs> parse_child_args(int argc, char** argv);

// Sets PR_SET_PDEATHSIG and checks the parent is still the one that started
// us (it may have died between fork and prctl). Sets the thread name shown
// by top/ps -L (15 chars). Exits the process on failure. With --nice: a
// session and autogroup of its own at that nice value; with --realtime,
// SCHED_RR at that priority (common/scheduling_group.hpp).
void child_bootstrap(const ChildArgs& args, const std::string& comm_name);

}  // namespace tlsward
