// The sandbox every child (netproc, crypto helpers) puts itself in, one small
// function per step (docs/internals.md, "Sandbox order"). What a role may do is its
// policy, kept in the role's folder (netproc/sandbox_policy.cpp,
// cryptoproc/sandbox_policy.cpp); this file only knows how to apply one.
//
// Order, and where each step runs:
//   enter_early()  at the top of main, before any start-up work:
//                    1. close every fd the child was not handed (0-3 stay)
//                    2. PR_SET_NO_NEW_PRIVS
//                    3. PR_SET_DUMPABLE 0 (no core dumps, no ptrace by uid)
//   enter()        once start-up work that needs files is done (OpenSSL
//                  config, algorithm fetches, uv_loop_init):
//                    4. chroot into an empty directory, then setgroups/
//                       setgid/setuid to the role's own user, and every
//                       capability dropped (root, or a supervisor with
//                       CAP_SETUID and CAP_SETGID)
//                    5. Landlock: no filesystem rights, plus what the policy
//                       says of TCP and scopes (when the kernel has it)
//                    6. RLIMIT_NPROC 0, RLIMIT_CORE 0, RLIMIT_NOFILE sized
//                       to the role
//                    7. the seccomp allow-list; anything else kills the
//                       whole process (SIGSYS)
// Started unprivileged, step 4 is skipped and says so in one log line.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tlsward::sandbox {

// --- What a role may do ----------------------------------------------------

// One argument check of a seccomp rule: (arg[index] & mask) == value.
struct ArgCheck {
    unsigned index = 0;
    uint64_t mask = ~uint64_t{0};
    uint64_t value = 0;
};

// One allowed system call, by name (libseccomp resolves it for the native
// architecture). Several entries with the same name are alternatives; the
// checks of one entry must all hold.
struct AllowedCall {
    const char* name = nullptr;
    std::vector<ArgCheck> args = {};
};

// Landlock rights, beyond "no filesystem access", which every role gets.
struct LandlockPolicy {
    bool deny_tcp_bind = true;        // ABI 4+
    bool deny_tcp_connect = true;     // ABI 4+
    bool scope_signals = true;        // ABI 6+: no signals to processes outside the sandbox
    bool scope_abstract_unix = true;  // ABI 6+: no abstract unix sockets outside it
};

struct Policy {
    const char* role = "";  // for log lines ("netproc", "crypto")
    std::vector<AllowedCall> syscalls;
    LandlockPolicy landlock;
    rlim_t max_fds = 0;  // RLIMIT_NOFILE; capped at the inherited hard limit
};

// Who the child becomes when it starts as root (the supervisor resolves the
// user names and passes numbers).
struct Identity {
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::string chroot_dir;  // empty: no chroot (netproc with a unix: target, no CAP_SYS_CHROOT)
};

// --- The steps, in order ---------------------------------------------------

// 1. Closes every fd above `highest_kept` (the child is handed stdio and its
//    control channel on fd 3).
Status close_stray_fds(int highest_kept);
// 2.
Status set_no_new_privs();
// 3. Also re-checked by enter(): a uid change resets the flag to the
//    fs.suid_dumpable sysctl.
Status set_non_dumpable();
// 4. chroot(dir) + chdir("/") when dir is not empty, then setgroups(0),
//    setgid, setuid, drops every capability, and checks that the old ids
//    (and root) cannot come back.
//    Sets the parent-death signal again (a uid change clears it).
Status drop_to_user(uid_t uid, gid_t gid, const std::string& chroot_dir);
// 5. Returns the ABI version used, or 0 when the kernel has no Landlock
//    (the caller logs it; seccomp and the chroot still apply).
Result<int> restrict_with_landlock(const LandlockPolicy& policy);
// 6. RLIMIT_NPROC 0, RLIMIT_CORE 0, RLIMIT_NOFILE max_fds (soft = hard,
//    never above the hard limit it inherited). Returns the RLIMIT_NOFILE set.
Result<rlim_t> set_limits(rlim_t max_fds);
// 7. Loads the allow-list; the default action kills the process. Returns
//    the number of rules. Also checks every name resolves (a typo in a
//    policy is an error, not a silently missing rule).
Result<size_t> install_seccomp(const std::vector<AllowedCall>& allowed);

// --- The whole sequence ----------------------------------------------------

void enter_early();  // steps 1-3; exits the process on failure
// Steps 4-7; the error names the step. With an identity whose uid is
// set, a failure to drop is an error; without one, step 4 is skipped with
// one log line (started unprivileged, or a root test run).
Status enter(const Policy& policy, const Identity& identity);

}  // namespace tlsward::sandbox
