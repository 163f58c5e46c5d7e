// The sandbox primitives, each in a forked child (a filter or a Landlock
// domain cannot be undone), and the argument plumbing that carries the
// users from the supervisor to the children. The whole sequence under each
// role's real policy is `tlsward selftest sandbox` (integration tests).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/child_bootstrap.hpp"
#include "common/sandbox.hpp"
#include "cryptoproc/sandbox_policy.hpp"
#include "netproc/sandbox_policy.hpp"
#include "supervisor/child_users.hpp"
#include "supervisor/config.hpp"

using namespace tlsward;

namespace {

// Runs `body` in a forked child; returns its wait status. The child leaves
// through the raw exit_group so no libc or sanitizer exit code runs.
int in_child(const std::function<int()>& body) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) syscall(SYS_exit_group, body());
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
}

bool killed_by_sigsys(int status) {
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

// What any process needs to get to its exit: memory (the sanitizer
// runtimes allocate behind the scenes) and the exit itself.
std::vector<sandbox::AllowedCall> basic_calls(std::vector<sandbox::AllowedCall> more) {
    std::vector<sandbox::AllowedCall> calls = {{"exit_group"}, {"write"},   {"brk"},  {"mmap"},
                                               {"munmap"},     {"madvise"}, {"futex"}};
    calls.insert(calls.end(), more.begin(), more.end());
    return calls;
}

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Result<ChildArgs> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tlsward: test");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_child_args(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("seccomp: a call outside the list kills the process with SIGSYS", "[sandbox]") {
    int status = in_child([] {
        auto n = sandbox::install_seccomp(basic_calls({}));
        if (!n) return 10;
        syscall(SYS_getppid);  // not listed
        return 0;
    });
    CHECK(killed_by_sigsys(status));

    status = in_child([] {
        auto n = sandbox::install_seccomp(basic_calls({{"getppid"}}));
        if (!n) return 10;
        return syscall(SYS_getppid) > 0 ? 0 : 11;
    });
    CHECK(exit_code(status) == 0);
}

TEST_CASE("seccomp: argument checks allow only the listed values", "[sandbox]") {
    auto socket_unix_only = [] {
        return sandbox::install_seccomp(basic_calls({{"socket", {{0, ~uint64_t{0}, AF_UNIX}}}}));
    };
    int status = in_child([&] {
        if (!socket_unix_only()) return 10;
        long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
        return fd >= 0 ? 0 : 11;
    });
    CHECK(exit_code(status) == 0);
    status = in_child([&] {
        if (!socket_unix_only()) return 10;
        syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        return 0;
    });
    CHECK(killed_by_sigsys(status));
}

TEST_CASE("seccomp: an unknown name is an error, not a missing rule", "[sandbox]") {
    int status = in_child([] {
        auto n = sandbox::install_seccomp(basic_calls({{"no_such_call"}}));
        if (n) return 10;
        return n.message().find("no_such_call") != std::string::npos ? 0 : 11;
    });
    CHECK(exit_code(status) == 0);
}

TEST_CASE("landlock: no file can be opened, fds already open still work", "[sandbox]") {
    int status = in_child([] {
        int before = open("/dev/null", O_RDONLY);
        if (before < 0) return 10;
        if (!sandbox::set_no_new_privs()) return 11;
        auto abi = sandbox::restrict_with_landlock({});
        if (!abi) return 12;
        if (*abi == 0) return 0;  // no Landlock in this kernel: nothing to check
        if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES) return 13;
        if (open("/tmp/tlsward-landlock-test", O_WRONLY | O_CREAT, 0600) >= 0) return 14;
        char c;
        return read(before, &c, 1) == 0 ? 0 : 15;
    });
    CHECK(exit_code(status) == 0);
}

TEST_CASE("limits: no new process, no core, the fd limit never above the hard one", "[sandbox]") {
    int status = in_child([] {
        rlimit hard{};
        getrlimit(RLIMIT_NOFILE, &hard);
        auto n = sandbox::set_limits(RLIM_INFINITY);
        if (!n || *n != hard.rlim_max) return 10;
        rlimit r{};
        getrlimit(RLIMIT_NPROC, &r);
        if (r.rlim_cur != 0 || r.rlim_max != 0) return 11;
        getrlimit(RLIMIT_CORE, &r);
        if (r.rlim_cur != 0 || r.rlim_max != 0) return 12;
        n = sandbox::set_limits(64);
        getrlimit(RLIMIT_NOFILE, &r);
        return n && *n == 64 && r.rlim_cur == 64 && r.rlim_max == 64 ? 0 : 13;
    });
    CHECK(exit_code(status) == 0);
}

TEST_CASE("early steps: stray fds closed, no_new_privs, not dumpable", "[sandbox]") {
    int status = in_child([] {
        int stray = fcntl(STDERR_FILENO, F_DUPFD, 10);
        if (stray < 10) return 10;
        sandbox::enter_early();
        if (fcntl(stray, F_GETFD) != -1) return 11;
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 12;
        return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 13;
    });
    CHECK(exit_code(status) == 0);
}

TEST_CASE("each role's policy installs, and forbids what it must", "[sandbox]") {
    struct Case {
        sandbox::Policy policy;
        long (*forbidden)();
    };
    Case cases[] = {
        {netproc::sandbox_policy(), [] { return syscall(SYS_openat, AT_FDCWD, "/etc/passwd", 0); }},
        {netproc::sandbox_policy(), [] { return syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0); }},
        {cryptoproc::sandbox_policy(), [] { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
    };
    for (const Case& c : cases) {
        INFO(c.policy.role);
        int status = in_child([&] {
            sandbox::enter_early();
            if (!sandbox::enter(c.policy, {})) return 10;
            return 0;
        });
        CHECK(exit_code(status) == 0);
        status = in_child([&] {
            sandbox::enter_early();
            if (!sandbox::enter(c.policy, {})) return 10;
            c.forbidden();
            return 0;
        });
        CHECK(killed_by_sigsys(status));
    }
}

TEST_CASE("drop to a user: ids, groups, no way back, parent-death signal kept", "[sandbox]") {
    if (geteuid() != 0) return;  // needs root; CI runs as root
    int status = in_child([] {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return 10;
        if (!sandbox::drop_to_user(65534, 65534, "")) return 11;
        if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534) return 12;
        if (getgroups(0, nullptr) != 0) return 13;
        if (setuid(0) == 0) return 14;
        int sig = 0;
        prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
        return sig == SIGKILL ? 0 : 15;
    });
    CHECK(exit_code(status) == 0);
    status = in_child([] { return sandbox::drop_to_user(0, 0, "") ? 10 : 0; });
    CHECK(exit_code(status) == 0);
}

TEST_CASE("child arguments carry the user, group and chroot", "[sandbox]") {
    auto a = parse({"--slot", "1", "--generation", "2", "--parent-pid", "3", "--uid", "999",
                    "--gid", "994", "--chroot", "/run/tlsward/empty"});
    REQUIRE(a.ok());
    CHECK(a->identity.uid == 999u);
    CHECK(a->identity.gid == 994u);
    CHECK(a->identity.chroot_dir == "/run/tlsward/empty");

    a = parse({"--parent-pid", "3"});
    REQUIRE(a.ok());
    CHECK_FALSE(a->identity.uid.has_value());
    CHECK_FALSE(a->nice.has_value());

    // The nice value the child gives itself and its autogroup.
    a = parse({"--parent-pid", "3", "--nice", "-5"});
    REQUIRE(a.ok());
    CHECK(a->nice == -5);
    a = parse({"--parent-pid", "3", "--nice", "19"});
    REQUIRE(a.ok());
    CHECK(a->nice == 19);
    CHECK_FALSE(parse({"--parent-pid", "3", "--nice", "-21"}).ok());
    CHECK_FALSE(parse({"--parent-pid", "3", "--nice", "20"}).ok());
    CHECK_FALSE(parse({"--parent-pid", "3", "--nice", "5x"}).ok());

    CHECK_FALSE(parse({"--parent-pid", "3", "--uid", "999"}).ok());
    CHECK_FALSE(parse({"--parent-pid", "3", "--chroot", "/x"}).ok());
    CHECK_FALSE(parse({"--parent-pid", "3", "--uid", "9", "--gid", "9", "--chroot", "x"}).ok());
    // The self-test probe needs no supervisor.
    a = parse({"--sandbox-selftest", "openat"});
    REQUIRE(a.ok());
    CHECK(a->sandbox_selftest == "openat");
    CHECK_FALSE(parse({"--slot", "1"}).ok());

    sandbox::Identity id;
    CHECK(supervisor::identity_args(id).empty());
    id.uid = 999;
    id.gid = 994;
    CHECK(supervisor::identity_args(id) ==
          std::vector<std::string>{"--uid", "999", "--gid", "994"});
    id.chroot_dir = "/run/tlsward/empty";
    CHECK(supervisor::identity_args(id) == std::vector<std::string>{"--uid", "999", "--gid", "994",
                                                                    "--chroot",
                                                                    "/run/tlsward/empty"});
}

TEST_CASE("chroot_dir: default, set, and must be absolute", "[sandbox][config]") {
    auto c = supervisor::parse_config(
        "[[service]]\nname = \"a\"\nlisten = \"127.0.0.1:1\"\ntarget = \"127.0.0.1:2\"\n"
        "cert = \"/c\"\nkey = \"/k\"\n",
        "t.toml");
    REQUIRE(c.ok());
    CHECK(c->global.chroot_dir == "/run/tlsward/empty");
    c = supervisor::parse_config(
        "[global]\nchroot_dir = \"/var/empty\"\n[[service]]\nname = \"a\"\nlisten = "
        "\"127.0.0.1:1\"\ntarget = \"127.0.0.1:2\"\ncert = \"/c\"\nkey = \"/k\"\n",
        "t.toml");
    REQUIRE(c.ok());
    CHECK(c->global.chroot_dir == "/var/empty");
    for (const char* bad : {"\"empty\"", "\"/\"", "3"}) {
        c = supervisor::parse_config(std::string("[global]\nchroot_dir = ") + bad +
                                         "\n[[service]]\nname = \"a\"\nlisten = "
                                         "\"127.0.0.1:1\"\ntarget = \"127.0.0.1:2\"\ncert = "
                                         "\"/c\"\nkey = \"/k\"\n",
                                     "t.toml");
        REQUIRE_FALSE(c.ok());
        CHECK(c.message().find("t.toml:2:") != std::string::npos);
        CHECK(c.message().find("chroot_dir") != std::string::npos);
    }
}

TEST_CASE("users: unprivileged, nothing is resolved", "[sandbox]") {
    if (geteuid() == 0) {
        // As root the users must exist; the integration tests cover it.
        supervisor::Config c;
        c.global.user = "tlsward-no-such-user";
        auto u = supervisor::resolve_child_users(c);
        REQUIRE_FALSE(u.ok());
        CHECK(u.message().find("user \"tlsward-no-such-user\" does not exist") !=
              std::string::npos);
        c.global.user = "root";
        u = supervisor::resolve_child_users(c);
        REQUIRE_FALSE(u.ok());
        CHECK(u.message().find("is root") != std::string::npos);
        return;
    }
    auto u = supervisor::resolve_child_users(supervisor::Config{});
    REQUIRE(u.ok());
    CHECK_FALSE(u->netproc.uid.has_value());
    CHECK_FALSE(u->helper.uid.has_value());
}
