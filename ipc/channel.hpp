// Sending and receiving framed messages on one end of a SOCK_SEQPACKET
// socketpair. Fds travel with SCM_RIGHTS and arrive close-on-exec.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ipc/frame.hpp"

namespace tlsward::ipc {

// A connected pair, both ends close-on-exec. Non-blocking is set per end by
// its user (set_nonblocking) because the child's end crosses exec.
Result<std::pair<UniqueFd, UniqueFd>> make_channel_pair();
Status set_nonblocking(int fd, bool on);

enum class SendOutcome { sent, would_block };

// Sends one message; fd (if >= 0) is duplicated into the receiver by the
// kernel, the sender keeps its copy. would_block only on a non-blocking
// socket whose buffer is full; nothing was sent then.
Result<SendOutcome> send_frame(int sock, MsgType type, uint64_t request_id,
                               std::span<const uint8_t> body, int fd = -1);

// Receives one message. nullopt: nothing to read (non-blocking socket).
// An error means the peer closed the channel or sent something malformed;
// either way the peer is to be treated as failed.
Result<std::optional<Message>> recv_frame(int sock);

// Errors of send_frame/recv_frame: ErrorKind::peer_closed when the peer
// closed its end (EOF, EPIPE, ECONNRESET), io when a system call failed,
// protocol when what arrived is malformed. This is the peer_closed text.
constexpr const char* kPeerClosed = "peer closed the channel";

}  // namespace tlsward::ipc
