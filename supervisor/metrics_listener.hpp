// The metrics endpoint's listening socket. netproc's sandbox cannot bind
// (Landlock denies TCP bind, seccomp has no bind()), so the supervisor
// binds it like a service listener and passes netproc a copy with every
// configuration. A reload that keeps the same `listen` keeps the socket.
#pragma once

#include <memory>
#include <string>

#include "common/address.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace tlsward::supervisor {

// "127.0.0.1:9100", "[::1]:9100" or "unix:/absolute/path" (port 0: any
// free port). An error names what is wrong, without a location.
Result<SocketAddress> parse_metrics_listen(const std::string& text);

class MetricsSocket {
public:
    // Binds and listens. A unix path that holds a stale socket (a killed
    // tlsward's) is replaced; any other file there is an error.
    static Result<std::unique_ptr<MetricsSocket>> bind(const std::string& listen);
    ~MetricsSocket();
    MetricsSocket(const MetricsSocket&) = delete;
    MetricsSocket& operator=(const MetricsSocket&) = delete;

    const std::string& configured() const { return configured_; }
    const SocketAddress& bound() const { return bound_; }
    int fd() const { return fd_.get(); }

private:
    MetricsSocket() = default;
    std::string configured_;  // the `listen` text it was bound for
    SocketAddress bound_;
    UniqueFd fd_;
    std::string unix_path_;  // removed again when the socket closes
};

}  // namespace tlsward::supervisor
