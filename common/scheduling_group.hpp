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

// SCHED_RR at `priority` (1-99), with SCHED_RESET_ON_FORK. Measured on 2
// cores shared with a load generator, a normal netproc, even at nice -5 in
// an autogroup of its own, was often left runnable for one to several ms
// behind a helper or another program finishing its slice: established
// traffic waited (and, with a one-thread load generator, so did the
// handshake pipeline: helpers without jobs, cores idle). A real-time
// netproc runs the moment it is woken; what that costs (bulk transfer
// reads less at a time) is in docs/operations.md, "Real-time netproc".
// It needs CAP_SYS_NICE or RLIMIT_RTPRIO >= priority (LimitRTPRIO= in a
// systemd unit); without either, one info line, and the process runs on as
// a normal one. The kernel's real-time throttling (sched_rt_runtime_us,
// 95 % of each second by default) leaves the rest of the machine a share
// even if netproc is busy for a whole second.
void enter_realtime(int priority);

// The policy behind enter_realtime and a reload's change
// (supervisor/child_priority.hpp), for process `pid` (0: this one):
// SCHED_RR at `priority` with SCHED_RESET_ON_FORK, or SCHED_OTHER (the nice
// value unchanged) for 0. Does nothing when the process has it already, so
// a reload that keeps the value needs no right to change it. Returns 0 or
// the errno of sched_setscheduler.
int set_realtime_policy(pid_t pid, int priority);

// "/autogroup-42 nice 10" from `path` -> 10; false if there is no such file
// (a kernel without autogroups) or it reads otherwise.
bool read_autogroup_nice(const char* path, int& nice);

// 0 or the errno of writing `nice` to `path`.
int write_autogroup_nice(const char* path, int nice);

}  // namespace tlsward
