#include "common/fd_poller.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace tlsward {

namespace {
constexpr size_t kBatch = 256;

uint32_t to_epoll(int uv_events) {
    uint32_t m = 0;
    if (uv_events & UV_READABLE) m |= EPOLLIN;
    if (uv_events & UV_WRITABLE) m |= EPOLLOUT;
    if (uv_events & UV_DISCONNECT) m |= EPOLLRDHUP;
    return m;
}
}  // namespace

Result<std::unique_ptr<FdPoller>> FdPoller::create(uv_loop_t* loop) {
    UniqueFd epfd(epoll_create1(EPOLL_CLOEXEC));
    if (!epfd) return err(ErrorKind::io, "epoll_create1: %s", strerror(errno));
    return std::unique_ptr<FdPoller>(new FdPoller(loop, std::move(epfd)));
}

FdPoller::FdPoller(uv_loop_t* loop, UniqueFd epfd)
    : epfd_(std::move(epfd)), poll_(loop, epfd_.get(), [this](int, int) { dispatch(); }) {
    poll_.set_events(UV_READABLE);
}

FdPoller::~FdPoller() {
    poll_.set_events(0);
}

void FdPoller::dispatch() {
    std::array<epoll_event, kBatch> ready;
    int n = epoll_wait(epfd_.get(), ready.data(), static_cast<int>(ready.size()), 0);
    for (int i = 0; i < n; ++i) {
        int fd = ready[i].data.fd;
        if (fd < 0 || static_cast<size_t>(fd) >= by_fd_.size() || !by_fd_[fd]) continue;
        FdWatch* w = by_fd_[fd];
        // As libuv reports them: only what the watch asked for, a bare
        // hang-up counts as ready for it, an error stops the watch.
        uint32_t want = to_epoll(w->events_);
        uint32_t ev = ready[i].events & (want | EPOLLERR | EPOLLHUP);
        if (ev == EPOLLERR || ev == EPOLLHUP) ev |= want;
        if (ev & EPOLLERR) {
            // The socket holds an error (SO_ERROR says which: a reset, a
            // refused connect). The watch stops and forgets its interest,
            // so that a later set_events registers the fd again. A watch
            // for the peer's end hears of it: a reset peer sends nothing
            // more, and a stopped watch would never say so otherwise.
            int events = (w->events_ & UV_DISCONNECT) ? UV_DISCONNECT : 0;
            w->control(EPOLL_CTL_DEL, 0);
            w->events_ = 0;
            w->edge_ = false;
            w->cb_(UV_EBADF, events);
            continue;
        }
        int events = 0;
        if (ev & EPOLLIN) events |= UV_READABLE;
        if (ev & EPOLLOUT) events |= UV_WRITABLE;
        if (ev & EPOLLRDHUP) events |= UV_DISCONNECT;
        if (events != 0) w->cb_(0, events);
    }
}

FdWatch::FdWatch(FdPoller& poller, int fd, Callback cb)
    : poller_(poller), fd_(fd), cb_(std::move(cb)) {
    auto& table = poller_.by_fd_;
    if (static_cast<size_t>(fd) >= table.size())
        table.resize(static_cast<size_t>(fd) + 64, nullptr);
    table[fd] = this;
}

FdWatch::~FdWatch() {
    if (registered_) control(EPOLL_CTL_DEL, 0);
    if (poller_.by_fd_[fd_] == this) poller_.by_fd_[fd_] = nullptr;
}

bool FdWatch::set_events(int events, bool edge) {
    if (events == events_ && edge == edge_) return true;
    uint32_t mask = to_epoll(events) | (edge ? EPOLLET : 0u);
    bool ok = events == 0 ? !registered_ || control(EPOLL_CTL_DEL, 0)
                          : control(registered_ ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, mask);
    if (ok) {
        events_ = events;
        edge_ = edge;
    }
    return ok;
}

bool FdWatch::control(int op, uint32_t mask) {
    epoll_event ev{};
    ev.events = mask;
    ev.data.fd = fd_;
    if (epoll_ctl(poller_.epfd_.get(), op, fd_, &ev) == 0) {
        registered_ = op != EPOLL_CTL_DEL;
        return true;
    }
    if (op == EPOLL_CTL_DEL) {
        registered_ = false;  // the fd is gone from the set either way
        return true;
    }
    // The fd is ours and open: only a kernel out of memory or of
    // max_user_watches gets here.
    LOG_ERROR("event=poll_error fd=%d op=%s error=\"%s\"", fd_,
              op == EPOLL_CTL_ADD ? "add" : "modify", strerror(errno));
    return false;
}

}  // namespace tlsward
