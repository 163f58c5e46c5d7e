// A connection's target: the connect (server mode: the plaintext target,
// after the handshake; client mode: the TLS target, before it, since the
// helper has no socket of its own), its failure, and the start of proxying
// once both sides are connected (a PROXY header to the target first).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "netproc/connection.hpp"

namespace tlsward::netproc {

void Connection::set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void Connection::connect_target() {
    state_ = State::connecting;
    const SocketAddress& target = service_->config.target;
    int fd = socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return target_failed(strfmt("socket: %s", strerror(errno)));
    (client_mode_ ? tls_fd_ : plain_fd_).reset(fd);
    if (target.family() != AF_UNIX) set_nodelay(fd);
    int rc;
    do {
        rc = ::connect(fd, target.sa(), target.length);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EINPROGRESS) return target_failed(strerror(errno));
    timer_.start(service_->config.connect_timeout_ms);
    if (rc == 0) {
        on_target_connect_event(0);
        return;
    }
    if (client_mode_) {
        // The TLS socket's watch, dropped before the socket is lent.
        watch_tls();
        tls_poll_->set_events(UV_WRITABLE);
    } else {
        // The target's watch serves the whole connection (one set-up and
        // one tear-down per connection).
        make_plain_poll();
        plain_poll_->set_events(UV_WRITABLE);
    }
}

void Connection::on_target_connect_event(int status) {
    if (state_ != State::connecting) return;
    int fd = client_mode_ ? tls_fd_.get() : plain_fd_.get();
    // SO_ERROR even when the watch reported an error (status < 0): it says
    // which one (a refused connect shows as EPOLLERR; errno is stale then).
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
    if (status < 0 || soerr != 0) {
        target_failed(soerr != 0 ? strerror(soerr) : uv_strerror(status));
        return;
    }
    // Stop watching before the socket is lent: the helper polls it next.
    tls_poll_.reset();
    if (client_mode_) {
        timer_.start(service_->config.handshake_timeout_ms + kHelperGraceMs);
        submit_handshake();
    } else {
        on_connected();
    }
}

void Connection::target_failed(const std::string& why) {
    CloseReason how{CloseKind::target_unreachable,
                    strfmt("connect to target %s failed: %s",
                           service_->config.target.to_string().c_str(), why.c_str())};
    // A client that has done its handshake is told we are closing.
    if (pump_)
        close_notify_and_fail(std::move(how));
    else
        close(how);
}

void Connection::on_connected() {
    state_ = State::proxying;
    if (proxy_tls_) {
        // The backend learns who the client is before the first byte of data.
        // The address the client connected to: the load balancer's header
        // named it, or the socket knows it (asked only here, not for every
        // connection).
        SocketAddress local;
        if (local_) {
            local = *local_;
        } else {
            local.length = sizeof local.storage;
            if (getsockname(tls_fd_.get(), local.sa(), &local.length) != 0) local = SocketAddress{};
        }
        auto header =
            proxy::encode(service_->config.proxy_protocol, peer_.full(), local, proxy_tls_.get());
        proxy_tls_.reset();
        if (!pump_->add_plain_output(header)) {
            close({CloseKind::internal, "PROXY header does not fit the buffer"});
            return;
        }
    }
    watch_tls();
    if (!plain_poll_) make_plain_poll();
    pump_->start(plain_fd_.get(), uv_now(env_.loop));
    arm_activity_timer();
    if (!after_pump()) return;
    update_interest();
}

}  // namespace tlsward::netproc
