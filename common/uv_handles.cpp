#include "common/uv_handles.hpp"

namespace tlsward {

UvPoll::UvPoll(uv_loop_t* loop, int fd, Callback cb) : h_(new Handle), fd_(fd), cb_(std::move(cb)) {
    h_->owner = this;
    uv_poll_init(loop, &h_->poll, fd);
    h_->poll.data = h_;
}

UvPoll::~UvPoll() {
    // uv_close stops the watcher itself (one epoll_ctl DEL; stopping first
    // would make it two).
    h_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&h_->poll),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void UvPoll::set_events(int events) {
    if (events == events_) return;
    events_ = events;
    if (events == 0)
        uv_poll_stop(&h_->poll);
    else
        uv_poll_start(&h_->poll, events, &UvPoll::on_poll);
}

void UvPoll::on_poll(uv_poll_t* h, int status, int events) {
    auto* handle = static_cast<Handle*>(h->data);
    if (handle->owner) handle->owner->cb_(status, events);
}

UvTimer::UvTimer(uv_loop_t* loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {}

UvTimer::~UvTimer() {
    stop();
}

void UvTimer::start(uint64_t timeout_ms, uint64_t repeat_ms) {
    if (!h_) {
        h_ = new Handle;
        h_->owner = this;
        uv_timer_init(loop_, &h_->timer);
        h_->timer.data = h_;
    }
    uv_timer_start(&h_->timer, &UvTimer::on_timer, timeout_ms, repeat_ms);
}

void UvTimer::stop() {
    if (!h_) return;
    // Closing is allowed inside the timer's own callback: on_timer does not
    // touch the handle after the callback, and libuv frees it on a later
    // turn of the loop.
    uv_timer_stop(&h_->timer);
    h_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&h_->timer),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
    h_ = nullptr;
}

bool UvTimer::active() const {
    return h_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&h_->timer)) != 0;
}

void UvTimer::on_timer(uv_timer_t* h) {
    auto* handle = static_cast<Handle*>(h->data);
    if (handle->owner) handle->owner->cb_();
}

UvSignal::UvSignal(uv_loop_t* loop, int signum, std::function<void()> cb)
    : h_(new Handle), cb_(std::move(cb)) {
    h_->owner = this;
    uv_signal_init(loop, &h_->sig);
    h_->sig.data = h_;
    uv_signal_start(
        &h_->sig,
        [](uv_signal_t* s, int) {
            auto* handle = static_cast<Handle*>(s->data);
            if (handle->owner) handle->owner->cb_();
        },
        signum);
}

UvSignal::~UvSignal() {
    uv_signal_stop(&h_->sig);
    h_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&h_->sig),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

UvCheck::UvCheck(uv_loop_t* loop, std::function<void()> cb) : h_(new Handle), cb_(std::move(cb)) {
    h_->owner = this;
    uv_check_init(loop, &h_->check);
    h_->check.data = h_;
    uv_check_start(&h_->check, [](uv_check_t* c) {
        auto* handle = static_cast<Handle*>(c->data);
        if (handle->owner) handle->owner->cb_();
    });
}

UvIdle::UvIdle(uv_loop_t* loop, std::function<void()> cb) : h_(new Handle), cb_(std::move(cb)) {
    h_->owner = this;
    uv_idle_init(loop, &h_->idle);
    h_->idle.data = h_;
}

UvIdle::~UvIdle() {
    h_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&h_->idle),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void UvIdle::start() {
    uv_idle_start(&h_->idle, [](uv_idle_t* i) {
        auto* handle = static_cast<Handle*>(i->data);
        if (handle->owner) handle->owner->cb_();
    });
}

void UvIdle::stop() {
    uv_idle_stop(&h_->idle);
}

UvCheck::~UvCheck() {
    uv_check_stop(&h_->check);
    h_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&h_->check),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

}  // namespace tlsward
