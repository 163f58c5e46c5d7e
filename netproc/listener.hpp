// A listening socket handed over by the supervisor (which binds it and
// keeps its own copy, so a restarted netproc accepts on it again).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

#include "common/address.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"

namespace tlsward::netproc {

class Listener {
public:
    using OnAccept = std::function<void(UniqueFd fd, const SocketAddress& peer)>;

    Listener(uv_loop_t* loop, uint32_t service_id, SocketAddress address, UniqueFd fd,
             OnAccept on_accept);
    ~Listener();

    void start();
    void stop();
    uint32_t service_id() const { return service_id_; }
    const SocketAddress& address() const { return address_; }

private:
    void on_readable();
    void on_fd_exhausted();

    uv_loop_t* loop_;
    uint32_t service_id_;
    SocketAddress address_;
    UniqueFd fd_;
    OnAccept on_accept_;
    std::unique_ptr<UvPoll> poll_;
    UvTimer backoff_;
    uint64_t last_emfile_log_ms_ = 0;
    uint64_t emfile_count_ = 0;
};

}  // namespace tlsward::netproc
