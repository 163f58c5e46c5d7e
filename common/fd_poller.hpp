// Readiness of sockets, from an epoll set of the process's own that the
// libuv loop watches as one descriptor (still one loop, one thread): netproc
// watches its connections and targets here, a crypto helper its lent sockets.
//
// Why not a uv_poll_t per socket: libuv 1.44's uv_poll_init probes the fd
// with EPOLL_CTL_ADD + DEL and sets O_NONBLOCK again with ioctl, and every
// uv_poll_start begins with an EPOLL_CTL_DEL and re-adds the fd on the next
// turn, so a proxied connection cost 16 epoll_ctl and 2 ioctl calls (strace
// of one connection), and each uv_poll_t is 160 bytes on the heap. Here a
// change of interest is one EPOLL_CTL_MOD, the first one an ADD, the last
// a DEL: 5 calls for a proxied connection, and a watch is 56 bytes kept
// inside its owner. Nothing here changes the fd's flags, which matters for
// a helper: its lent socket's open file description is netproc's too.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"

namespace tlsward {

class FdWatch;

class FdPoller {
public:
    // Creates the epoll set: before the sandbox, which has no epoll_create1.
    static Result<std::unique_ptr<FdPoller>> create(uv_loop_t* loop);
    ~FdPoller();
    FdPoller(const FdPoller&) = delete;
    FdPoller& operator=(const FdPoller&) = delete;

private:
    friend class FdWatch;
    FdPoller(uv_loop_t* loop, UniqueFd epfd);
    // Runs the callbacks of what is ready, at most kBatch per libuv turn
    // (level-triggered: the rest is reported again on the next turn, after
    // timers and the helpers' channels have had theirs).
    void dispatch();

    UniqueFd epfd_;
    UvPoll poll_;
    // fd -> its watch. Events are looked up here, never through a pointer
    // kept in the kernel, so an event for a watch destroyed earlier in the
    // same batch finds nothing (or, if the number was reused at once, a
    // spurious wake-up that the socket's EAGAIN answers).
    std::vector<FdWatch*> by_fd_;
};

// One socket's watch, with the interface of UvPoll: set_events takes UV_*
// flags, and the callback gets (status, events) as libuv would call it:
// UV_EBADF on EPOLLERR (the watch then stops, with no interest left), with
// UV_DISCONNECT if the watch asked for it and no other event, else the
// UV_READABLE / UV_WRITABLE / UV_DISCONNECT that are ready. UV_EBADF is libuv's word for POLLERR,
// not a closed or foreign descriptor: the socket holds an error (a peer's reset, a refused
// connect), which getsockopt(SO_ERROR) names. A watch is always removed
// before its fd is closed, so its number is never one the owner lost.
class FdWatch {
public:
    using Callback = std::function<void(int status, int events)>;

    FdWatch(FdPoller& poller, int fd, Callback cb);
    // Removes the fd from the set: the fd may be closed, or lent to a
    // helper, right after.
    ~FdWatch();
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;

    // 0 removes the fd from the set (epoll reports hang-ups and errors even
    // for an empty mask, which would wake the loop for nothing). false: the
    // kernel refused (out of memory or of max_user_watches; logged), and
    // nothing will be reported for this fd. edge: report only changes
    // (EPOLLET), for a socket whose unread bytes are left there on purpose.
    bool set_events(int events, bool edge = false);
    int events() const { return events_; }
    int fd() const { return fd_; }

private:
    friend class FdPoller;
    bool control(int op, uint32_t mask);

    FdPoller& poller_;
    int fd_;
    int events_ = 0;
    bool edge_ = false;
    bool registered_ = false;
    Callback cb_;
};

}  // namespace tlsward
