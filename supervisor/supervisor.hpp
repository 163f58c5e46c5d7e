// The supervisor: binds the listening sockets, starts netproc and the crypto
// helpers (fork + exec), feeds each its configuration over its control
// channel, restarts whichever dies (with backoff), and stops them all on
// SIGTERM/SIGINT.
//
// Channels and what each child may send the supervisor (anything else is a
// protocol violation and the child is killed and restarted):
//   netproc:    READY, PONG
//   crypto[i]:  READY, PONG
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/uv_handles.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"
#include "supervisor/listeners.hpp"
#include "supervisor/prepared_config.hpp"

namespace tlsward::supervisor {

class Supervisor {
public:
    Supervisor(uv_loop_t* loop, PreparedConfig config);
    ~Supervisor();

    // Binds every listener and starts the children. An error here (a port
    // in use, a missing binary) means nothing was started.
    Status start();
    int exit_code() const { return exit_code_; }

private:
    struct Child {
        ipc::ProcessRole role = ipc::ProcessRole::netproc;
        uint32_t slot = 0;
        uint32_t generation = 0;
        pid_t pid = 0;
        std::unique_ptr<ipc::UvChannel> control;
        bool ready = false;
        uint64_t started_ms = 0;
        unsigned consecutive_failures = 0;
        uint64_t restarts = 0;
        std::unique_ptr<UvTimer> restart_timer;
        std::string name() const;
    };

    Status spawn(Child& c);
    void send_netproc_config(Child& np);
    void send_helper_config(Child& h);
    void connect_helper(Child& h);
    void on_child_message(Child& c, ipc::Message&& m);
    void on_child_channel_failed(Child& c, const Error& e);
    void on_sigchld();
    void on_child_exit(Child& c, int status);
    void schedule_restart(Child& c);
    void kill_child(Child& c, const std::string& why);
    void check_ready();
    void begin_shutdown(const char* signal_name);
    void stop_helpers();
    void maybe_finish_shutdown();
    Child* find_child(pid_t pid);

    uv_loop_t* loop_;
    PreparedConfig config_;
    uint32_t generation_ = 1;
    std::string netproc_exe_;
    std::string cryptoproc_exe_;
    // service id -> its bound sockets, kept for the supervisor's lifetime.
    std::map<uint32_t, std::vector<BoundListener>> listeners_;

    Child netproc_;
    std::vector<std::unique_ptr<Child>> helpers_;
    // Channels of dead children, freed outside their own callbacks.
    std::vector<std::unique_ptr<ipc::UvChannel>> retired_;
    UvCheck reaper_;

    UvSignal sigchld_;
    UvSignal sigterm_;
    UvSignal sigint_;
    UvTimer shutdown_timer_;
    bool announced_ready_ = false;
    bool shutting_down_ = false;
    int exit_code_ = 0;
};

}  // namespace tlsward::supervisor
