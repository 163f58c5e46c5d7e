#include "common/sandbox.hpp"

#include <grp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "common/capabilities.hpp"
#include "common/child_bootstrap.hpp"
#include "common/log.hpp"
#include "common/logfmt.hpp"

#ifdef TLSWARD_SANITIZE
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace tlsward::sandbox {

namespace {

// Landlock's user API (include/uapi/linux/landlock.h). Debian 12's header
// stops at ABI 2, so the later rights are spelled out here; only the rights
// listed here are ever handled, so a newer kernel never restricts us in a
// way this code has not been tested with.
struct LandlockRulesetAttr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;  // ABI 4
    uint64_t scoped;              // ABI 6
};
constexpr uint32_t kLandlockCreateRulesetVersion = 1U << 0;
constexpr uint64_t kFsAbi1 = (uint64_t{1} << 13) - 1;      // EXECUTE .. MAKE_SYM
constexpr uint64_t kFsRefer = uint64_t{1} << 13;           // ABI 2
constexpr uint64_t kFsTruncate = uint64_t{1} << 14;        // ABI 3
constexpr uint64_t kFsIoctlDev = uint64_t{1} << 15;        // ABI 5
constexpr uint64_t kNetBindTcp = uint64_t{1} << 0;         // ABI 4
constexpr uint64_t kNetConnectTcp = uint64_t{1} << 1;      // ABI 4
constexpr uint64_t kScopeAbstractUnix = uint64_t{1} << 0;  // ABI 6
constexpr uint64_t kScopeSignal = uint64_t{1} << 1;        // ABI 6
constexpr int kLandlockNewestKnownAbi = 6;

LandlockRulesetAttr landlock_attr(int abi, const LandlockPolicy& p, size_t& size) {
    LandlockRulesetAttr a{};
    a.handled_access_fs = kFsAbi1;
    if (abi >= 2) a.handled_access_fs |= kFsRefer;
    if (abi >= 3) a.handled_access_fs |= kFsTruncate;
    if (abi >= 5) a.handled_access_fs |= kFsIoctlDev;
    size = sizeof a.handled_access_fs;
    if (abi >= 4) {
        if (p.deny_tcp_bind) a.handled_access_net |= kNetBindTcp;
        if (p.deny_tcp_connect) a.handled_access_net |= kNetConnectTcp;
        size = offsetof(LandlockRulesetAttr, scoped);
    }
    if (abi >= 6) {
        if (p.scope_abstract_unix) a.scoped |= kScopeAbstractUnix;
        if (p.scope_signals) a.scoped |= kScopeSignal;
        size = sizeof a;
    }
    return a;
}

#ifdef TLSWARD_SANITIZE
// What the sanitizer runtimes need once the filter is on, in sanitizer
// builds only, as measured (docs/testing.md): UBSan's vptr check probes
// memory by writing it into a pipe (pipe2, write, close); an ASan report
// asks whether stderr is a terminal (ioctl TCGETS) and aborts through
// gettid + tgkill; ASan's _exit() takes down its signal stack
// (sigaltstack). Everything else they use is in the roles' lists already.
const AllowedCall kSanitizerRuntimeCalls[] = {
    {"pipe2"},
    {"ioctl", {{1, ~uint64_t{0}, TCGETS}}},
    {"gettid"},
    {"sigaltstack"},
};

// The runtime caches /proc/self/maps for the reports it may still print,
// and the symbolizer reads the binaries' debug info now, while it can. The
// at-exit leak check stops the world with a tracer thread and ptrace, which
// the filter (and RLIMIT_NPROC 0) forbid: LeakSanitizer runs once here
// instead, over what start-up allocated, and not at exit. The tracer needs
// the process dumpable for that moment; no key has arrived yet.
Status prepare_sanitizer_runtime() {
    __sanitizer_sandbox_on_notify(nullptr);
    char buf[256];
    __sanitizer_symbolize_pc(reinterpret_cast<void*>(&prepare_sanitizer_runtime), "%p %F %L", buf,
                             sizeof buf);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    __lsan_do_leak_check();
    return set_non_dumpable();
}

// Test-only, sanitizer builds only: with TLSWARD_SANITIZER_LEAK_RUN=1 in
// the environment a child skips its sandbox so that LeakSanitizer's at-exit
// check (a tracer thread and ptrace, which seccomp, RLIMIT_NPROC 0 and a
// non-dumpable process forbid) runs over everything the child did, not
// only over start-up (tests/integration/test_leak_check.py). A release
// build never reads the variable.
bool leak_check_run() {
    const char* v = std::getenv("TLSWARD_SANITIZER_LEAK_RUN");
    return v != nullptr && std::strcmp(v, "1") == 0;
}
#endif

}  // namespace

Status close_stray_fds(int highest_kept) {
    auto first = static_cast<unsigned>(highest_kept + 1);
    if (syscall(SYS_close_range, first, ~0U, 0) == 0) return {};
    if (errno != ENOSYS) return err(ErrorKind::io, "close_range: %s", strerror(errno));
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = first; fd < (max > 0 ? max : 65536); ++fd) close(static_cast<int>(fd));
    return {};
}

Status set_no_new_privs() {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return err(ErrorKind::io, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
    return {};
}

Status set_non_dumpable() {
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return err(ErrorKind::io, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
        return err(ErrorKind::internal, "the process is still dumpable");
    return {};
}

Status drop_to_user(uid_t uid, gid_t gid, const std::string& chroot_dir) {
    if (uid == 0) return err(ErrorKind::config, "refusing to run as uid 0");
    // A change of credentials clears the parent-death signal
    // (child_bootstrap set it): note it to set it again after.
    int pdeath = 0;
    prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
    pid_t parent = getppid();
    if (!chroot_dir.empty()) {
        if (chroot(chroot_dir.c_str()) != 0)
            return err(ErrorKind::io, "chroot(%s): %s", chroot_dir.c_str(), strerror(errno));
        if (chdir("/") != 0)
            return err(ErrorKind::io, "chdir(/) in the chroot: %s", strerror(errno));
    }
    if (setgroups(0, nullptr) != 0) return err(ErrorKind::io, "setgroups(0): %s", strerror(errno));
    if (setresgid(gid, gid, gid) != 0)
        return err(ErrorKind::io, "setresgid(%u): %s", gid, strerror(errno));
    if (setresuid(uid, uid, uid) != 0)
        return err(ErrorKind::io, "setresuid(%u): %s", uid, strerror(errno));
    // From root the kernel has just cleared every capability; from a
    // non-root supervisor that handed us CAP_SETUID and friends (systemd's
    // AmbientCapabilities=) it keeps them: drop them ourselves.
    if (auto s = caps::drop_all(); !s) return s;
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
        return err(ErrorKind::io, "getresuid/getresgid: %s", strerror(errno));
    if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
        return err(ErrorKind::internal, "ids are not %u/%u after the drop", uid, gid);
    if (getgroups(0, nullptr) != 0)
        return err(ErrorKind::internal, "supplementary groups remain after setgroups(0)");
    // Root must be gone for good.
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
        return err(ErrorKind::internal, "could regain root after dropping to %u", uid);
    if (pdeath != 0) {
        if (prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0) != 0)
            return err(ErrorKind::io, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
        if (getppid() != parent)
            return err(ErrorKind::peer_closed,
                       "the parent exited while the child dropped to its user");
    }
    return {};
}

Result<int> restrict_with_landlock(const LandlockPolicy& policy) {
    long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, kLandlockCreateRulesetVersion);
    if (abi < 0) {
        if (errno == ENOSYS || errno == EOPNOTSUPP) return 0;  // not built in, or disabled
        return err(ErrorKind::io, "landlock_create_ruleset(VERSION): %s", strerror(errno));
    }
    // Best effort per ABI: some kernels claim a version without all of its
    // rights (EINVAL); step down until one is accepted.
    int fd = -1;
    int used = std::min(static_cast<int>(abi), kLandlockNewestKnownAbi);
    for (; used >= 1; --used) {
        size_t size = 0;
        LandlockRulesetAttr attr = landlock_attr(used, policy, size);
        fd = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0));
        if (fd >= 0) break;
        if (errno != EINVAL)
            return err(ErrorKind::io, "landlock_create_ruleset: %s", strerror(errno));
    }
    if (fd < 0) return err(ErrorKind::io, "landlock_create_ruleset: no ABI version was accepted");
    // No rule is added: every handled right is denied everywhere.
    long rc = syscall(SYS_landlock_restrict_self, fd, 0);
    int saved = errno;
    close(fd);
    if (rc != 0) return err(ErrorKind::io, "landlock_restrict_self: %s", strerror(saved));
    return used;
}

Result<rlim_t> set_limits(rlim_t max_fds) {
    const rlimit zero{0, 0};
    if (setrlimit(RLIMIT_NPROC, &zero) != 0)
        return err(ErrorKind::io, "setrlimit(RLIMIT_NPROC, 0): %s", strerror(errno));
    if (setrlimit(RLIMIT_CORE, &zero) != 0)
        return err(ErrorKind::io, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
    rlimit cur{};
    if (getrlimit(RLIMIT_NOFILE, &cur) != 0)
        return err(ErrorKind::io, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    rlim_t n = std::min(max_fds, cur.rlim_max);
    const rlimit files{n, n};
    if (setrlimit(RLIMIT_NOFILE, &files) != 0)
        return err(ErrorKind::io, "setrlimit(RLIMIT_NOFILE, %llu): %s",
                   static_cast<unsigned long long>(n), strerror(errno));
    return n;
}

Result<size_t> install_seccomp(const std::vector<AllowedCall>& allowed) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == nullptr) return err(ErrorKind::io, "seccomp_init failed");
    // Other architectures (i386 through int 0x80, x32) hit the default
    // "bad architecture" action of libseccomp, which also kills.
    auto fail = [&](Error e) {
        seccomp_release(ctx);
        return e;
    };
    for (const AllowedCall& call : allowed) {
        int nr = seccomp_syscall_resolve_name(call.name);
        if (nr == __NR_SCMP_ERROR)
            return fail(err(ErrorKind::internal, "unknown system call \"%s\"", call.name));
        std::vector<scmp_arg_cmp> cmps;
        for (const ArgCheck& c : call.args) {
            scmp_arg_cmp cmp{};
            cmp.arg = c.index;
            if (c.mask == ~uint64_t{0}) {
                cmp.op = SCMP_CMP_EQ;
                cmp.datum_a = c.value;
            } else {
                cmp.op = SCMP_CMP_MASKED_EQ;
                cmp.datum_a = c.mask;
                cmp.datum_b = c.value;
            }
            cmps.push_back(cmp);
        }
        int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(cmps.size()),
                                        cmps.data());
        if (rc < 0)
            return fail(
                err(ErrorKind::internal, "seccomp rule for %s: %s", call.name, strerror(-rc)));
    }
    if (int rc = seccomp_load(ctx); rc < 0)
        return fail(err(ErrorKind::io, "seccomp_load: %s", strerror(-rc)));
    seccomp_release(ctx);
    return allowed.size();
}

void enter_early() {
    // The journal socket (fd 4), when the supervisor passed one, stays.
    Status s = close_stray_fds(log_journal_fd() == kJournalFd ? kJournalFd : kControlFd);
    if (s) s = set_no_new_privs();
    if (s) s = set_non_dumpable();
    if (!s) {
        LOG_ERROR("event=exit reason=\"sandbox: %s\"", s.message().c_str());
        std::_Exit(1);
    }
}

Status enter(const Policy& policy, const Identity& identity) {
    // glibc reads /etc/localtime on its first time conversion, even for
    // gmtime_r (the log's timestamps): let it happen now.
    tzset();
#ifdef TLSWARD_SANITIZE
    if (leak_check_run()) {
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        LOG_WARN(
            "event=sandbox_skipped process=%s reason=\"TLSWARD_SANITIZER_LEAK_RUN: no sandbox, "
            "the leak check runs at exit (sanitizer builds only)\"",
            policy.role);
        return {};
    }
    // Needs /proc, so before the chroot and Landlock.
    if (auto s = prepare_sanitizer_runtime(); !s) return s;
#endif

    // 4. User and chroot.
    std::string who;
    if (identity.uid && identity.gid) {
        if (auto s = drop_to_user(*identity.uid, *identity.gid, identity.chroot_dir); !s)
            return context("dropping to the role's user", s.error());
        // A fragment of the event=sandboxed line: the path as a logfmt value.
        who = strfmt(
            "uid=%u gid=%u chroot=%s", *identity.uid, *identity.gid,
            identity.chroot_dir.empty() ? "none" : logfmt::value(identity.chroot_dir).c_str());
    } else {
        who = strfmt("uid=%u", geteuid());
        if (geteuid() == 0)
            LOG_WARN(
                "event=sandbox_note note=\"started as root without --uid: user and chroot "
                "steps skipped\"");
        else
            LOG_INFO(
                "event=sandbox_note note=\"started unprivileged (uid %u): user and chroot "
                "steps skipped\"",
                geteuid());
    }
    // A uid change resets the dumpable flag (to fs.suid_dumpable): set it again.
    if (auto s = set_non_dumpable(); !s) return s;

    // 5. Landlock.
    auto landlock = restrict_with_landlock(policy.landlock);
    if (!landlock) return context("landlock", landlock.error());
    if (*landlock == 0)
        LOG_INFO(
            "event=sandbox_note note=\"Landlock is not available in this kernel: "
            "chroot and seccomp still apply\"");

    // 6. Limits.
    auto files = set_limits(policy.max_fds);
    if (!files) return files.error();

    // 7. The allow-list.
    std::vector<AllowedCall> calls = policy.syscalls;
#ifdef TLSWARD_SANITIZE
    calls.insert(calls.end(), std::begin(kSanitizerRuntimeCalls), std::end(kSanitizerRuntimeCalls));
#endif
    auto rules = install_seccomp(calls);
    if (!rules) return context("seccomp", rules.error());

    LOG_INFO("event=sandboxed process=%s %s landlock_abi=%d nofile=%llu seccomp_rules=%zu",
             policy.role, who.c_str(), *landlock, static_cast<unsigned long long>(*files), *rules);
    return {};
}

}  // namespace tlsward::sandbox
