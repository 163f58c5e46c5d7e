#include "common/sandbox_selftest.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tlsward::sandbox {

namespace {

constexpr const char* kPath = "/etc/passwd";
constexpr const char* kProgram = "/bin/true";

// The child of a fork-like call that was allowed leaves at once.
long forked(long rc) {
    if (rc == 0) _exit(0);
    return rc;
}

long probe_execve() {
    char* const argv[] = {const_cast<char*>(kProgram), nullptr};
    char* const envp[] = {nullptr};
    return syscall(SYS_execve, kProgram, argv, envp);
}

long probe_execveat() {
    char* const argv[] = {const_cast<char*>(kProgram), nullptr};
    char* const envp[] = {nullptr};
    return syscall(SYS_execveat, AT_FDCWD, kProgram, argv, envp, 0);
}

long probe_clone3() {
    clone_args ca{};
    ca.exit_signal = SIGCHLD;
    return forked(syscall(SYS_clone3, &ca, sizeof ca));
}

long probe_openat2() {
    struct {
        uint64_t flags, mode, resolve;
    } how{O_RDONLY, 0, 0};
    return syscall(SYS_openat2, AT_FDCWD, kPath, &how, sizeof how);
}

// openat through the x32 ABI (the same number with bit 30 set): a filter
// that checks numbers but not the ABI would let it through.
long probe_x32_openat() {
    constexpr long kX32Bit = 0x40000000;
    return syscall(kX32Bit | SYS_openat, AT_FDCWD, kPath, O_RDONLY);
}

// open through the 32-bit entry (int 0x80, i386 number 5): a filter that
// does not check the architecture would let it through.
long probe_int80_open() {
#if defined(__x86_64__)
    long ret = 0;
    asm volatile("int $0x80" : "=a"(ret) : "a"(5L), "b"(kPath), "c"(0L) : "memory");
    return ret;
#else
    errno = ENOSYS;
    return -1;
#endif
}

struct Probe {
    const char* name;
    long (*call)();
};

const Probe kProbes[] = {
    {kBaselineProbe, [] { return 0L; }},
    {"socket", [] { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
    {"socketpair",
     [] {
         int sv[2];
         return syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
     }},
    {"connect", [] { return syscall(SYS_connect, -1, nullptr, 0); }},
    {"bind", [] { return syscall(SYS_bind, -1, nullptr, 0); }},
    {"listen", [] { return syscall(SYS_listen, -1, 1); }},
    {"accept", [] { return syscall(SYS_accept, -1, nullptr, nullptr); }},
    {"accept4", [] { return syscall(SYS_accept4, -1, nullptr, nullptr, 0); }},
    {"open", [] { return syscall(SYS_open, kPath, O_RDONLY); }},
    {"openat", [] { return syscall(SYS_openat, AT_FDCWD, kPath, O_RDONLY); }},
    {"openat2", probe_openat2},
    {"execve", probe_execve},
    {"execveat", probe_execveat},
    {"ptrace", [] { return syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0); }},
    {"fork", [] { return forked(syscall(SYS_fork)); }},
    {"clone", [] { return forked(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0)); }},
    {"clone3", probe_clone3},
    // Signal 0 to init: only checks that it may signal another process.
    {"kill", [] { return syscall(SYS_kill, 1, 0); }},
    {"x32-openat", probe_x32_openat},
    {"int80-open", probe_int80_open},
};

void say(const char* line) {
    size_t left = std::strlen(line);
    while (left > 0) {
        ssize_t n = write(STDOUT_FILENO, line, left);
        if (n <= 0) return;
        line += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace

std::vector<std::string> selftest_probe_names() {
    std::vector<std::string> out;
    for (const Probe& p : kProbes) out.emplace_back(p.name);
    return out;
}

int run_selftest_probe(const Policy& policy, const ChildArgs& args) {
    const Probe* probe = nullptr;
    for (const Probe& p : kProbes)
        if (args.sandbox_selftest == p.name) probe = &p;
    if (probe == nullptr) {
        std::fprintf(stderr, "unknown probe \"%s\"\n", args.sandbox_selftest.c_str());
        return 2;
    }
    enter_early();
    if (auto s = enter(policy, args.identity); !s) {
        std::fprintf(stderr, "sandbox: %s\n", s.message().c_str());
        return 3;
    }
    // From here on: write, the probe's one call, write, exit.
    char line[160];
    std::snprintf(line, sizeof line, "%s %s\n", kProbeArmed, probe->name);
    say(line);
    long rc = probe->call();
    int e = errno;
    std::snprintf(line, sizeof line, "%s %s rc=%ld errno=%d\n", kProbeSurvived, probe->name, rc,
                  rc < 0 ? e : 0);
    say(line);
    _exit(0);
}

}  // namespace tlsward::sandbox
