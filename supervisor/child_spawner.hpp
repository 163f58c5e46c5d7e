// How a child process comes to exist: fork + exec of its role's binary
// (supervisor/child_process.cpp) with the command line its role and the
// configuration give it, and a fresh control channel. Everything that
// differs between the roles at start is in child_spawn_spec.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <string>

#include "common/result.hpp"
#include "ipc/uv_channel.hpp"
#include "supervisor/child_process.hpp"
#include "supervisor/child_table.hpp"
#include "supervisor/prepared_config.hpp"

namespace tlsward::supervisor {

// What c is started with under `config`: its title, --slot, --generation,
// --parent-pid, --log-level, --nice (netproc_nice or helper_nice), netproc's
// --realtime, the user and chroot of its role, and --journal-fd when
// `journal_fd` >= 0 (the socket every process writes its journal records
// on). The control channel's fd is the caller's to set.
SpawnSpec child_spawn_spec(const Child& c, const PreparedConfig& config,
                           const std::string& executable, pid_t parent_pid, int journal_fd);

class ChildSpawner {
public:
    explicit ChildSpawner(uv_loop_t* loop) : loop_(loop) {}

    // Finds tlsward-netproc and tlsward-cryptoproc (supervisor/child_paths.hpp).
    Status find_executables();

    // Starts c's process (its role, slot and generation) for `config`. On
    // success c runs, is not ready yet and has a new control channel whose
    // messages and failure go to the callbacks; its liveness and shutdown
    // state start over.
    Status spawn(Child& c, const PreparedConfig& config, ipc::UvChannel::OnMessage on_message,
                 ipc::UvChannel::OnFailed on_failed);

private:
    uv_loop_t* loop_;
    std::string netproc_exe_;
    std::string cryptoproc_exe_;
};

}  // namespace tlsward::supervisor
