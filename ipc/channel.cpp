#include "ipc/channel.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <openssl/crypto.h>

namespace tlsward::ipc {

Result<std::pair<UniqueFd, UniqueFd>> make_channel_pair() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return err(ErrorKind::io, "socketpair(AF_UNIX, SOCK_SEQPACKET): %s", strerror(errno));
    return std::make_pair(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

Status set_nonblocking(int fd, bool on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return err(ErrorKind::io, "fcntl(F_GETFL): %s", strerror(errno));
    int want = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (want != fl && fcntl(fd, F_SETFL, want) != 0)
        return err(ErrorKind::io, "fcntl(F_SETFL): %s", strerror(errno));
    return {};
}

Result<SendOutcome> send_frame(int sock, MsgType type, uint64_t request_id,
                               std::span<const uint8_t> body, int fd) {
    if (body.size() > kMaxBody)
        return err(ErrorKind::internal, "%s: body of %zu bytes exceeds the %zu-byte limit",
                   msg_type_name(type), body.size(), kMaxBody);
    Header h{type, 0, static_cast<uint32_t>(body.size()), request_id};
    uint8_t head[kHeaderSize];
    encode_header(h, head);
    iovec iov[2] = {{head, kHeaderSize}, {const_cast<uint8_t*>(body.data()), body.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = body.empty() ? 1 : 2;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
        std::memset(control, 0, sizeof control);
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0) {
            if (static_cast<size_t>(n) != kHeaderSize + body.size())
                return err(ErrorKind::io, "%s: short send on a seqpacket socket",
                           msg_type_name(type));
            return SendOutcome::sent;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return SendOutcome::would_block;
        // The other end is gone (a child that drained and exited, racing a
        // message to it): the same as reading EOF, not a protocol error.
        if (errno == EPIPE || errno == ECONNRESET)
            return err(ErrorKind::peer_closed, "%s", kPeerClosed);
        return err(ErrorKind::io, "%s: sendmsg: %s", msg_type_name(type), strerror(errno));
    }
}

Result<std::optional<Message>> recv_frame(int sock) {
    // One byte more than the limit so an oversized message shows as MSG_TRUNC
    // rather than being silently cut to size.
    static thread_local uint8_t buf[kMaxMessage + 1];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsReceived)];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::optional<Message>();
        // A peer that exits with messages of ours still unread resets the
        // pair instead of a plain EOF; either way it has gone.
        if (errno == ECONNRESET) return err(ErrorKind::peer_closed, "%s", kPeerClosed);
        return err(ErrorKind::io, "recvmsg: %s", strerror(errno));
    }

    // Take ownership of every fd that arrived before looking at anything
    // else, so none leaks whatever the verdict.
    Message m;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            return err(ErrorKind::protocol, "unexpected control message (level %d, type %d)",
                       c->cmsg_level, c->cmsg_type);
        }
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            m.fds.emplace_back(fd);
        }
    }
    auto wipe = [&] { OPENSSL_cleanse(buf, static_cast<size_t>(n > 0 ? n : 0)); };
    if (n == 0 && m.fds.empty()) return err(ErrorKind::peer_closed, "%s", kPeerClosed);
    if (msg.msg_flags & MSG_TRUNC) {
        wipe();
        return err(ErrorKind::protocol, "message larger than the %zu-byte limit (truncated)",
                   kMaxMessage);
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        wipe();
        return err(ErrorKind::protocol, "control data truncated: more than %zu fds attached",
                   kMaxFdsReceived);
    }
    auto frame = std::span<const uint8_t>(buf, static_cast<size_t>(n));
    auto h = decode_frame(frame, m.fds.size());
    if (!h) {
        wipe();
        return h.error();
    }
    m.header = h.value();
    m.body.assign(buf + kHeaderSize, buf + n);
    wipe();
    return std::optional<Message>(std::move(m));
}

}  // namespace tlsward::ipc
