// A channel end driven by a libuv loop: messages are delivered to a
// callback as they arrive, sends never block (they queue while the socket
// buffer is full). Any receive error ends the channel: on_failed is called
// once and nothing more is delivered; the owner decides what "failed" means
// for that peer (restart it, drop its jobs).
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "ipc/channel.hpp"

namespace tlsward::ipc {

class UvChannel {
public:
    using OnMessage = std::function<void(Message&&)>;
    using OnFailed = std::function<void(const Error&)>;

    // Takes ownership of fd and makes it non-blocking.
    UvChannel(uv_loop_t* loop, UniqueFd fd, std::string peer_name, OnMessage on_message,
              OnFailed on_failed);
    ~UvChannel();
    UvChannel(const UvChannel&) = delete;
    UvChannel& operator=(const UvChannel&) = delete;

    // Queues a message. fd (if >= 0) is duplicated if the message has to
    // wait, so the caller may close its fd at any time after this returns.
    // Returns false once the channel has failed (the message is dropped).
    bool send(MsgType type, uint64_t request_id, std::span<const uint8_t> body, int fd = -1);
    // The same for what ipc::encode_body made. A body that could not be
    // encoded (our own message over its fields or the frame) is not sent:
    // it is logged (event=ipc_encode_failed) and false is returned, as for
    // a message that could not be sent; the channel itself stays up.
    bool send(MsgType type, uint64_t request_id, const Result<SecureBytes>& body, int fd = -1);

    bool failed() const { return failed_; }
    // The channel failed on what the peer sent (a frame recv_frame refused),
    // not on I/O or the peer's exit: the peer broke the protocol.
    bool peer_broke_protocol() const { return peer_broke_protocol_; }
    size_t queued() const { return queue_.size(); }
    const std::string& peer_name() const { return peer_; }
    int fd() const { return fd_.get(); }

    // Marks the channel failed without a callback (owner-initiated close).
    void close();

private:
    // A message waiting for room in the socket; its copy of the body is
    // wiped when freed.
    struct Pending {
        MsgType type;
        uint64_t request_id;
        SecureBytes body;
        UniqueFd fd;
        Pending(MsgType t, uint64_t id, std::span<const uint8_t> b, UniqueFd f)
            : type(t), request_id(id), body(b.begin(), b.end()), fd(std::move(f)) {}
    };

    void on_events(int status, int events);
    void flush();
    void fail(const Error& e);
    void update_poll();

    UniqueFd fd_;
    std::string peer_;
    OnMessage on_message_;
    OnFailed on_failed_;
    std::unique_ptr<UvPoll> poll_;
    std::deque<Pending> queue_;
    bool failed_ = false;
    bool peer_broke_protocol_ = false;
    // Set while delivering, so that an owner destroying us from a callback
    // is detected (see alive_).
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tlsward::ipc
