#include "ipc/uv_channel.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace tlsward::ipc {

namespace {
// Messages handled per readable event before yielding to the rest of the
// loop: one chatty peer must not starve connections.
constexpr int kMaxMessagesPerTurn = 64;
}  // namespace

UvChannel::UvChannel(uv_loop_t* loop, UniqueFd fd, std::string peer_name, OnMessage on_message,
                     OnFailed on_failed)
    : fd_(std::move(fd)),
      peer_(std::move(peer_name)),
      on_message_(std::move(on_message)),
      on_failed_(std::move(on_failed)) {
    (void)set_nonblocking(fd_.get(), true);
    poll_ = std::make_unique<UvPoll>(loop, fd_.get(),
                                     [this](int status, int events) { on_events(status, events); });
    update_poll();
}

UvChannel::~UvChannel() {
    *alive_ = false;
    poll_.reset();  // stops polling before the fd closes
}

void UvChannel::close() {
    failed_ = true;
    queue_.clear();
    update_poll();
}

bool UvChannel::send(MsgType type, uint64_t request_id, std::span<const uint8_t> body, int fd) {
    if (failed_) return false;
    if (queue_.empty()) {
        auto r = send_frame(fd_.get(), type, request_id, body, fd);
        if (!r) {
            fail(r.error());
            return false;
        }
        if (r.value() == SendOutcome::sent) return true;
    }
    UniqueFd copy;
    if (fd >= 0) {
        copy.reset(fcntl(fd, F_DUPFD_CLOEXEC, 0));
        if (!copy) {
            fail(err(ErrorKind::io, "%s: dup of fd to queue: %s", msg_type_name(type),
                     strerror(errno)));
            return false;
        }
    }
    queue_.emplace_back(type, request_id, body, std::move(copy));
    update_poll();
    return true;
}

bool UvChannel::send(MsgType type, uint64_t request_id, const Result<SecureBytes>& body, int fd) {
    if (!body) {
        LOG_ERROR("event=ipc_encode_failed peer=%s type=%s reason=\"%s\"", peer_.c_str(),
                  msg_type_name(type), body.message().c_str());
        return false;
    }
    return send(type, request_id, std::span<const uint8_t>(body.value()), fd);
}

void UvChannel::flush() {
    while (!queue_.empty()) {
        Pending& p = queue_.front();
        auto r = send_frame(fd_.get(), p.type, p.request_id, p.body, p.fd.get());
        if (!r) {
            fail(r.error());
            return;
        }
        if (r.value() == SendOutcome::would_block) return;
        queue_.pop_front();
    }
}

void UvChannel::update_poll() {
    if (!poll_) return;
    if (failed_) {
        poll_->set_events(0);
        return;
    }
    poll_->set_events(UV_READABLE | (queue_.empty() ? 0 : UV_WRITABLE));
}

void UvChannel::fail(const Error& e) {
    if (failed_) return;
    failed_ = true;
    queue_.clear();
    update_poll();
    auto alive = alive_;
    if (on_failed_) on_failed_(e);
    (void)alive;
}

void UvChannel::on_events(int status, int events) {
    if (failed_) return;
    auto alive = alive_;
    if (status < 0) {
        // A peer that exits with messages it never read leaves us
        // ECONNRESET (POLLERR, which libuv reports as EBADF): it closed.
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
            (soerr == ECONNRESET || soerr == EPIPE)) {
            fail(err(ErrorKind::peer_closed, "%s", kPeerClosed));
            return;
        }
        fail(err(ErrorKind::io, "poll: %s", uv_strerror(status)));
        return;
    }
    if (events & UV_WRITABLE) {
        flush();
        if (!*alive || failed_) return;
    }
    if (events & UV_READABLE) {
        for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
            auto r = recv_frame(fd_.get());
            if (!r) {
                peer_broke_protocol_ = r.kind() == ErrorKind::protocol;
                fail(r.error());
                return;
            }
            if (!r.value().has_value()) break;
            on_message_(std::move(*r.value()));
            if (!*alive || failed_) return;
        }
    }
    update_poll();
}

}  // namespace tlsward::ipc
