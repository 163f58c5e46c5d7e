// RAII owners for the libuv handles tlsward uses. libuv closes handles
// asynchronously, so each wrapper heap-allocates its handle and frees it in
// the close callback; the owning object may be destroyed at any time except
// from inside its own callback (the std::function would be destroyed while
// running): owners defer that, e.g. netproc's connection graveyard.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <utility>

namespace tlsward {

// Watches one fd for readability/writability (uv_poll_t). Stopping removes
// the fd from epoll at once (libuv does EPOLL_CTL_DEL), so the fd may be
// closed right after stop() or destruction; that matters for lent sockets,
// which stay open in another process.
class UvPoll {
public:
    using Callback = std::function<void(int status, int events)>;

    UvPoll(uv_loop_t* loop, int fd, Callback cb);
    ~UvPoll();
    UvPoll(const UvPoll&) = delete;
    UvPoll& operator=(const UvPoll&) = delete;

    // Sets the event mask (UV_READABLE | UV_WRITABLE | UV_DISCONNECT); 0 stops.
    void set_events(int events);
    int events() const { return events_; }
    int fd() const { return fd_; }

private:
    struct Handle {
        uv_poll_t poll;
        UvPoll* owner;
    };
    static void on_poll(uv_poll_t* h, int status, int events);

    Handle* h_;
    int fd_;
    int events_ = 0;
    Callback cb_;
};

class UvTimer {
public:
    UvTimer(uv_loop_t* loop, std::function<void()> cb);
    ~UvTimer();
    UvTimer(const UvTimer&) = delete;
    UvTimer& operator=(const UvTimer&) = delete;

    void start(uint64_t timeout_ms, uint64_t repeat_ms = 0);
    void stop();
    bool active() const;
    void set_callback(std::function<void()> cb) { cb_ = std::move(cb); }

private:
    struct Handle {
        uv_timer_t timer;
        UvTimer* owner;
    };
    static void on_timer(uv_timer_t* h);

    // The libuv handle (160 bytes) exists only while the timer runs: most
    // connections have no timer running most of the time.
    uv_loop_t* loop_;
    Handle* h_ = nullptr;
    std::function<void()> cb_;
};

class UvSignal {
public:
    UvSignal(uv_loop_t* loop, int signum, std::function<void()> cb);
    ~UvSignal();
    UvSignal(const UvSignal&) = delete;
    UvSignal& operator=(const UvSignal&) = delete;

private:
    struct Handle {
        uv_signal_t sig;
        UvSignal* owner;
    };
    Handle* h_;
    std::function<void()> cb_;
};

// Runs a callback once per loop iteration after I/O (uv_check_t), used to
// flush work batched during the iteration.
class UvCheck {
public:
    UvCheck(uv_loop_t* loop, std::function<void()> cb);
    ~UvCheck();
    UvCheck(const UvCheck&) = delete;
    UvCheck& operator=(const UvCheck&) = delete;

private:
    struct Handle {
        uv_check_t check;
        UvCheck* owner;
    };
    Handle* h_;
    std::function<void()> cb_;
};

// Runs a callback once per loop iteration while started (uv_idle_t); the
// loop polls without blocking meanwhile, so work continued from here
// interleaves with I/O and timers.
class UvIdle {
public:
    UvIdle(uv_loop_t* loop, std::function<void()> cb);
    ~UvIdle();
    UvIdle(const UvIdle&) = delete;
    UvIdle& operator=(const UvIdle&) = delete;

    void start();
    void stop();

private:
    struct Handle {
        uv_idle_t idle;
        UvIdle* owner;
    };
    Handle* h_;
    std::function<void()> cb_;
};

// Milliseconds on the loop's monotonic clock.
inline uint64_t loop_now_ms(uv_loop_t* loop) {
    return uv_now(loop);
}

}  // namespace tlsward
