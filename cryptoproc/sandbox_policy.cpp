#include "cryptoproc/sandbox_policy.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace tlsward::cryptoproc {

sandbox::Policy sandbox_policy() {
    using sandbox::ArgCheck;
    const ArgCheck no_exec{2, PROT_EXEC, 0};  // mmap/mprotect: never executable memory
    const auto self = static_cast<uint64_t>(getpid());
    sandbox::Policy p;
    p.role = "crypto";
    p.syscalls = {
        // Its channels and the sockets netproc lends it: no new socket, no
        // connect, accept or bind.
        {"recvfrom"},
        {"sendto"},
        {"recvmsg"},
        {"sendmsg"},
        {"getsockopt"},
        {"read"},
        {"write"},
        {"writev"},
        {"close"},
        {"fstat"},
        {"newfstatat"},
        {"fcntl"},
        {"ioctl", {{1, ~uint64_t{0}, FIONBIO}}},
        {"ioctl", {{1, ~uint64_t{0}, FIOCLEX}}},
        // The libuv loop.
        {"epoll_wait"},
        {"epoll_pwait"},
        {"epoll_ctl"},
        // Memory (glibc malloc, OpenSSL).
        {"brk"},
        {"mmap", {no_exec}},
        {"mprotect", {no_exec}},
        {"munmap"},
        {"mremap"},
        {"madvise"},
        // Time and randomness (OpenSSL's DRBG reseeds from getrandom).
        {"clock_gettime"},
        {"gettimeofday"},
        {"getrandom"},
        {"getpid"},
        // Signals: returning from a handler; abort() signals only itself.
        {"rt_sigreturn"},
        {"rt_sigprocmask"},
        {"tgkill", {{0, ~uint64_t{0}, self}}},
        {"futex"},
        {"restart_syscall"},
        {"exit"},
        {"exit_group"},
    };
    // Its channels, stdio, the loop's own fds and one lent socket per job
    // in flight: at most 65536 (the highest max_jobs_per_helper), so the
    // limit is that plus room for the rest.
    p.max_fds = 65536 + 64;
    p.landlock.deny_tcp_bind = true;
    p.landlock.deny_tcp_connect = true;
    return p;
}

}  // namespace tlsward::cryptoproc
