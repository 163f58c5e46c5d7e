#include "signer/sandbox_policy.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace tlsward::signer {

sandbox::Policy sandbox_policy() {
    using sandbox::ArgCheck;
    const ArgCheck no_exec{2, PROT_EXEC, 0};  // mmap/mprotect: never executable memory
    const auto self = static_cast<uint64_t>(getpid());
    sandbox::Policy p;
    p.role = "signer";
    p.syscalls = {
        // Its channels (SOCK_SEQPACKET, messages with an fd from the
        // supervisor) and stderr. getsockopt: a new helper channel's
        // SO_TYPE, and SO_ERROR when a peer resets.
        {"recvmsg"},
        {"sendmsg"},
        {"getsockopt"},
        {"write"},
        {"writev"},
        {"close"},
        {"fcntl"},
        {"ioctl", {{1, ~uint64_t{0}, FIONBIO}}},
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
        // Time; randomness for ECDSA nonces and RSA blinding (the DRBG
        // reseeds from getrandom); OpenSSL's fork check.
        {"clock_gettime"},
        {"gettimeofday"},
        {"getrandom"},
        {"getpid"},
        // Signals: abort() signals only itself.
        {"rt_sigreturn"},
        {"rt_sigprocmask"},
        {"tgkill", {{0, ~uint64_t{0}, self}}},
        {"futex"},
        {"restart_syscall"},
        {"exit"},
        {"exit_group"},
    };
    // Stdio, its control channel, the loop's fds and one channel per helper.
    p.max_fds = 4096;
    p.landlock.deny_tcp_bind = true;
    p.landlock.deny_tcp_connect = true;
    return p;
}

}  // namespace tlsward::signer
