// Starting a child: fork + exec (a fresh address space and fresh ASLR for
// every netproc and helper, never a forked copy of the supervisor), with
// the control channel on fd 3 and nothing else open but stdin/out/err.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.hpp"

namespace tlsward::supervisor {

struct SpawnSpec {
    std::string executable;
    std::string title;  // argv[0]: what ps shows ("tlsward: crypto[0]")
    std::vector<std::string> args;
    int control_fd = -1;  // becomes fd 3 in the child
    int journal_fd = -1;  // becomes fd 4 (kJournalFd) when set
};

Result<pid_t> spawn_child(const SpawnSpec& spec);

// "exit status 1", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace tlsward::supervisor
