#include "supervisor/child_spawner.hpp"

#include <unistd.h>

#include "common/child_bootstrap.hpp"
#include "common/log.hpp"
#include "ipc/channel.hpp"
#include "supervisor/child_paths.hpp"
#include "supervisor/child_users.hpp"

namespace tlsward::supervisor {

namespace {

const char* level_arg(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

}  // namespace

SpawnSpec child_spawn_spec(const Child& c, const PreparedConfig& config,
                           const std::string& executable, pid_t parent_pid, int journal_fd) {
    const GlobalConfig& global = config.config.global;
    bool is_netproc = c.role == ipc::ProcessRole::netproc;
    SpawnSpec spec;
    spec.executable = executable;
    spec.title = "tlsward: " + c.name();
    int nice = is_netproc ? global.netproc_nice : global.helper_nice;
    spec.args = {
        "--slot",       std::to_string(c.slot),     "--generation", std::to_string(c.generation),
        "--parent-pid", std::to_string(parent_pid), "--log-level",  level_arg(global.log_level),
        "--nice",       std::to_string(nice)};
    if (is_netproc && global.netproc_realtime_priority > 0) {
        spec.args.push_back("--realtime");
        spec.args.push_back(std::to_string(global.netproc_realtime_priority));
    }
    for (std::string& a : identity_args(is_netproc ? config.users.netproc : config.users.helper))
        spec.args.push_back(std::move(a));
    if (journal_fd >= 0) {
        // Each child writes its own journal records on our socket.
        spec.journal_fd = journal_fd;
        spec.args.push_back("--journal-fd");
        spec.args.push_back(std::to_string(kJournalFd));
    }
    return spec;
}

Status ChildSpawner::find_executables() {
    auto np = child_executable("tlsward-netproc");
    if (!np) return np.error();
    auto cp = child_executable("tlsward-cryptoproc");
    if (!cp) return cp.error();
    netproc_exe_ = np.value();
    cryptoproc_exe_ = cp.value();
    return {};
}

Status ChildSpawner::spawn(Child& c, const PreparedConfig& config,
                           ipc::UvChannel::OnMessage on_message,
                           ipc::UvChannel::OnFailed on_failed) {
    auto pair = ipc::make_channel_pair();
    if (!pair) return pair.error();
    auto& [ours, theirs] = pair.value();
    SpawnSpec spec = child_spawn_spec(
        c, config, c.role == ipc::ProcessRole::netproc ? netproc_exe_ : cryptoproc_exe_, getpid(),
        log_journal_fd());
    spec.control_fd = theirs.get();
    auto pid = spawn_child(spec);
    if (!pid) return pid.error();
    theirs.reset();

    c.pid = pid.value();
    c.ready = false;
    c.started_ms = uv_now(loop_);
    c.ping_sent = c.ping_answered = 0;
    c.shutdown_sent = false;
    c.kill_at_ms = 0;
    c.control = std::make_unique<ipc::UvChannel>(loop_, std::move(ours), c.name(),
                                                 std::move(on_message), std::move(on_failed));
    LOG_INFO("event=spawned process=%s pid=%d generation=%u", c.name().c_str(),
             static_cast<int>(c.pid), c.generation);
    return {};
}

}  // namespace tlsward::supervisor
