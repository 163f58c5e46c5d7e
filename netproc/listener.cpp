#include "netproc/listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace tlsward::netproc {

namespace {

// Connections accepted per readable event: enough to drain a burst, few
// enough that established connections get their turn.
constexpr int kAcceptsPerTurn = 32;
constexpr uint64_t kEmfileBackoffMs = 100;
constexpr uint64_t kEmfileLogIntervalMs = 10000;

// One fd kept in reserve so that, when accept() fails with EMFILE, netproc
// can free it, accept the pending connection and close it at once instead
// of spinning on a readable socket it cannot serve.
int g_reserve_fd = -1;
void ensure_reserve() {
    if (g_reserve_fd < 0) g_reserve_fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
}

}  // namespace

Listener::Listener(uv_loop_t* loop, uint32_t service_id, SocketAddress address, UniqueFd fd,
                   OnAccept on_accept)
    : loop_(loop),
      service_id_(service_id),
      address_(address),
      fd_(std::move(fd)),
      on_accept_(std::move(on_accept)),
      backoff_(loop, [this] { start(); }) {
    int fl = fcntl(fd_.get(), F_GETFL);
    if (fl >= 0) fcntl(fd_.get(), F_SETFL, fl | O_NONBLOCK);
    poll_ = std::make_unique<UvPoll>(loop, fd_.get(), [this](int, int) { on_readable(); });
    ensure_reserve();
}

Listener::~Listener() {
    poll_.reset();
}

void Listener::start() {
    poll_->set_events(UV_READABLE);
}
void Listener::stop() {
    poll_->set_events(0);
    backoff_.stop();
}

void Listener::on_readable() {
    for (int i = 0; i < kAcceptsPerTurn; ++i) {
        SocketAddress peer;
        peer.length = sizeof peer.storage;
        int fd = accept4(fd_.get(), peer.sa(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            on_accept_(UniqueFd(fd), peer);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE) {
            on_fd_exhausted();
            return;
        }
        LOG_ERROR("event=accept_error listen=%s error=\"%s\"", address_.to_string().c_str(),
                  strerror(errno));
        return;
    }
}

void Listener::on_fd_exhausted() {
    ++emfile_count_;
    if (g_reserve_fd >= 0) {
        ::close(g_reserve_fd);
        g_reserve_fd = -1;
        int fd = accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) ::close(fd);
        ensure_reserve();
    }
    uint64_t now = uv_now(loop_);
    if (last_emfile_log_ms_ == 0 || now - last_emfile_log_ms_ >= kEmfileLogIntervalMs) {
        LOG_ERROR("event=accept_fd_exhausted listen=%s refused=%llu error=\"%s\"",
                  address_.to_string().c_str(), static_cast<unsigned long long>(emfile_count_),
                  strerror(EMFILE));
        last_emfile_log_ms_ = now;
        emfile_count_ = 0;
    }
    // Back off instead of spinning; accepting resumes by itself.
    poll_->set_events(0);
    backoff_.start(kEmfileBackoffMs);
}

}  // namespace tlsward::netproc
