#include "netproc/sandbox_policy.hpp"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tlsward::netproc {

sandbox::Policy sandbox_policy() {
    using sandbox::ArgCheck;
    const ArgCheck no_exec{2, PROT_EXEC, 0};     // mmap/mprotect: never executable memory
    const ArgCheck stream{1, 0xf, SOCK_STREAM};  // the type, without SOCK_NONBLOCK/CLOEXEC
    const auto self = static_cast<uint64_t>(getpid());
    sandbox::Policy p;
    p.role = "netproc";
    p.syscalls = {
        // Sockets: accept clients, connect to targets (TCP, or a unix:
        // target): stream sockets of those three families only.
        {"accept4"},
        {"socket", {{0, ~uint64_t{0}, AF_INET}, stream}},
        {"socket", {{0, ~uint64_t{0}, AF_INET6}, stream}},
        {"socket", {{0, ~uint64_t{0}, AF_UNIX}, stream}},
        {"connect"},
        {"getsockopt"},
        {"setsockopt"},
        {"getsockname"},
        {"getpeername"},
        {"shutdown"},
        {"recvfrom"},
        {"sendto"},
        {"recvmsg"},
        {"sendmsg"},
        {"read"},
        {"write"},
        {"writev"},
        {"close"},
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
        // Time, randomness, identity for log lines.
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
    // Netproc holds every connection: two fds each. It may use all the
    // inherited hard limit (LimitNOFILE= in the unit).
    p.max_fds = RLIM_INFINITY;
    // It binds nothing (the supervisor owns the listeners) but connects to
    // TCP targets.
    p.landlock.deny_tcp_bind = true;
    p.landlock.deny_tcp_connect = false;
    return p;
}

}  // namespace tlsward::netproc
