// The control socket: where "tlsward status" and "tlsward reload" reach a
// running supervisor. A Unix stream socket, mode 0600, served by the
// supervisor's loop; only its own user (or root) is answered.
//
// Protocol: the client sends one request line ("status", "status json",
// "reload"); the supervisor answers "ok\n" or "error\n", then the body,
// and closes. A reload is answered when it has finished (or failed).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/deferred_delete.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"

namespace tlsward::supervisor {

class ControlServer {
public:
    // Answers one request; may be called later (a reload), at most once.
    using Respond = std::function<void(bool ok, const std::string& body)>;
    using Handler = std::function<void(const std::string& request, Respond respond)>;

    // Binds `path` (absolute). A stale socket left by a dead process is
    // replaced; one a live process answers on is an error, and so is any
    // other file. The parent directory is created (mode 0700) if missing.
    static Result<std::unique_ptr<ControlServer>> open(uv_loop_t* loop, const std::string& path,
                                                       Handler handler);
    // Closes the socket and removes the path, if it is still ours.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    const std::string& path() const { return path_; }

private:
    struct Client;
    ControlServer(uv_loop_t* loop, std::string path, UniqueFd fd, Handler handler);
    void on_acceptable();
    void on_client_event(const std::shared_ptr<Client>& c, int events);
    void on_request(const std::shared_ptr<Client>& c, const std::string& line);
    void flush(const std::shared_ptr<Client>& c);
    void drop(const std::shared_ptr<Client>& c);

    uv_loop_t* loop_;
    std::string path_;
    UniqueFd fd_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    Handler handler_;
    std::unique_ptr<UvPoll> poll_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, std::shared_ptr<Client>> clients_;
    // Clients that finished, released outside their own callbacks.
    DeferredDelete<Client, std::shared_ptr<Client>> dead_;
};

// $RUNTIME_DIRECTORY/control under systemd (RuntimeDirectory=), else
// /run/tlsward/control for root and $XDG_RUNTIME_DIR/tlsward/control (or
// /tmp/tlsward-UID/control) for anyone else.
std::string default_control_path();

struct ControlAnswer {
    bool ok = false;
    std::string body;
};

// The client side: sends one request and reads the whole answer, waiting
// at most timeout_ms in all.
Result<ControlAnswer> control_request(const std::string& path, const std::string& request,
                                      uint64_t timeout_ms);

}  // namespace tlsward::supervisor
