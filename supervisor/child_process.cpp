#include "supervisor/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/child_bootstrap.hpp"

namespace tlsward::supervisor {

namespace {

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(const char* exe, char* const argv[], int control_fd, int journal_fd) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    // Signal dispositions the supervisor set up through libuv are reset by
    // exec; ignored ones would carry over, so restore the defaults.
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (control_fd == kControlFd) {
        int fl = fcntl(control_fd, F_GETFD);
        fcntl(control_fd, F_SETFD, fl & ~FD_CLOEXEC);
    } else if (dup2(control_fd, kControlFd) < 0) {
        _exit(126);
    }
    // The supervisor keeps its journal socket above fd 9, so it is never
    // the control fd it just moved.
    int highest = kControlFd;
    if (journal_fd >= 0) {
        if (dup2(journal_fd, kJournalFd) < 0) _exit(126);
        highest = kJournalFd;
    }
    // Nothing but stdio, the channel (and the journal socket) crosses exec.
    if (syscall(SYS_close_range, highest + 1, ~0U, 0) != 0) {
        for (int fd = highest + 1; fd < 65536; ++fd) close(fd);
    }
    execv(exe, argv);
    _exit(127);
}

}  // namespace

Result<pid_t> spawn_child(const SpawnSpec& spec) {
    std::vector<std::string> strings;
    strings.push_back(spec.title);
    strings.insert(strings.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv;
    argv.reserve(strings.size() + 1);
    for (auto& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    pid_t pid = fork();
    if (pid < 0) return err(ErrorKind::io, "fork for %s: %s", spec.title.c_str(), strerror(errno));
    if (pid == 0)
        exec_child(spec.executable.c_str(), argv.data(), spec.control_fd, spec.journal_fd);
    return pid;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return strfmt("exit status %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return strfmt("killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return strfmt("wait status 0x%x", status);
}

}  // namespace tlsward::supervisor
