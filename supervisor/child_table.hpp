// The supervisor's table of children: one entry per process it started
// (netproc, and every generation's crypto helpers), with what the
// supervisor knows of each — its process, its control channel, whether it
// said READY, its restarts, its liveness, whether it is retiring.
//
// An entry outlives its process: a child that dies keeps its entry (and
// slot) until it is restarted, and only an entry marked `remove` (a retired
// helper, an abandoned reload's) that has no process left is dropped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/uv_handles.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"
#include "supervisor/restart_backoff.hpp"

namespace tlsward::supervisor {

// A child told to stop (SHUTDOWN{drain_ms}) gets this long after its drain
// time before SIGKILL.
constexpr uint64_t kKillGraceMs = 5000;

struct Child {
    ipc::ProcessRole role = ipc::ProcessRole::netproc;
    uint32_t slot = 0;
    uint32_t generation = 0;
    pid_t pid = 0;  // 0: not running (restart pending, or gone for good)
    std::unique_ptr<ipc::UvChannel> control;
    bool ready = false;
    uint64_t started_ms = 0;
    RestartBackoff backoff;
    uint64_t restarts = 0;
    std::unique_ptr<UvTimer> restart_timer;
    // An older generation's helper (or an abandoned reload's): it
    // finishes its jobs, exits, and is not restarted.
    bool retiring = false;
    uint64_t retire_deadline_ms = 0;  // SHUTDOWN by then at the latest
    bool shutdown_sent = false;
    uint64_t kill_at_ms = 0;  // SIGKILL if still running then (0: no)
    bool remove = false;      // exited for good: drop from the table
    // Liveness (watchdog): PINGs sent and the last one answered.
    uint64_t ping_sent = 0;
    uint64_t ping_answered = 0;
    // A helper's own counts from its last PONG (for the metrics).
    ipc::Pong last_pong;

    // "netproc", "crypto[3]": the process title's and the logs' name.
    std::string name() const;
    // Running, with a control channel that still works: a message sent
    // now reaches it. (A child whose channel failed is about to be
    // SIGCHLD'd, or was killed for breaking the protocol.)
    bool reachable() const { return pid > 0 && control && !control->failed(); }
};

// Adds a helper's handshake counts (a PONG's) to `sum`. The one place that
// names the fields.
void add_helper_counts(ipc::Pong& sum, const ipc::Pong& counts);

class ChildTable {
public:
    ChildTable();
    ChildTable(const ChildTable&) = delete;
    ChildTable& operator=(const ChildTable&) = delete;

    Child& netproc() { return netproc_; }
    const Child& netproc() const { return netproc_; }
    // Every generation's helpers, in the order they were added.
    std::vector<std::unique_ptr<Child>>& helpers() { return helpers_; }
    const std::vector<std::unique_ptr<Child>>& helpers() const { return helpers_; }

    // A new entry for a helper of `generation` in `slot`, not started yet.
    Child& add_helper(uint32_t slot, uint32_t generation);
    Child* find(pid_t pid);
    // Drops the entries marked `remove` whose process is gone.
    void drop_removed();

    // c's process was reaped: it is down, not ready, and its control
    // channel is closed and handed back (to be freed outside its own
    // callbacks). A helper's last reported counts stay in the totals.
    std::unique_ptr<ipc::UvChannel> exited(Child& c);
    // Every helper's handshake counts since the supervisor started: the
    // last PONG of each one in the table, plus the last counts of each one
    // that exited, so the totals never go back.
    ipc::Pong helper_totals() const;

    bool any_running() const;
    // SIGKILL to every running child.
    void kill_all() const;
    // SIGKILL to every running child, and waits for each (the supervisor's
    // last act: no child outlives it).
    void kill_and_reap_all();

private:
    Child netproc_;
    std::vector<std::unique_ptr<Child>> helpers_;
    // The last counts of helpers that have exited.
    ipc::Pong exited_helpers_;
};

}  // namespace tlsward::supervisor
