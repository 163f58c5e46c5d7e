// A child's place in the scheduler: a session, and so an autogroup, of its
// own, with its nice value on both the process and the autogroup.
//
// With autogroups on (CONFIG_SCHED_AUTOGROUP, the kernel's default; every
// systemd service is a session of its own) the scheduler shares the CPU
// between autogroups first and a nice value only ranks processes within
// one. Left in the supervisor's session, netproc's -5 and the helpers' +10
// would weigh against each other but not against the backend, the load
// generator or a batch job on the machine; measured on 2 cores, the helpers
// sharing one autogroup with netproc also cost more CPU per handshake and
// had a far longer latency tail (docs/benchmarks.md).
#pragma once

#include <sys/types.h>

namespace tlsward {

// setsid(), setpriority() and /proc/self/autogroup. Without CAP_SYS_ADMIN
// the kernel takes one autogroup change per 100 ms on the whole machine and
// answers EAGAIN to the rest, so children started together wait their turn
// (up to 2 s). A negative value needs CAP_SYS_NICE or RLIMIT_NICE (the
// packaged unit's LimitNICE=25). What cannot be set is logged (info) and
// the child runs on: priority is an optimization, never a reason to fail.
void join_own_scheduling_group(int nice);

// "/autogroup-42 nice 10" from `path` -> 10; false if there is no such file
// (a kernel without autogroups) or it reads otherwise.
bool read_autogroup_nice(const char* path, int& nice);

// 0 or the errno of writing `nice` to `path`.
int write_autogroup_nice(const char* path, int nice);

}  // namespace tlsward
