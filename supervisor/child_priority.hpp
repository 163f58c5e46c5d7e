#pragma once
// Scheduling priority of the children: established connections (netproc)
// ahead of handshakes (helpers), so a handshake flood cannot delay traffic.

#include <string>

#include <sys/types.h>

namespace tlsward::supervisor {

// Sets pid's nice value. A negative value needs CAP_SYS_NICE; without it
// the child keeps the supervisor's and one info line says so (once per
// supervisor: a user trying tlsward unprivileged is not doing wrong).
void set_child_nice(const std::string& name, pid_t pid, int nice);

}  // namespace tlsward::supervisor
