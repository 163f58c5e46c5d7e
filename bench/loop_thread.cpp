#include "bench/loop_thread.hpp"

#include <cerrno>

#include "bench/clock.hpp"

namespace tlsward::bench {

void sleep_until_ns(uint64_t at_ns) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(at_ns / 1000000000ull);
    ts.tv_nsec = static_cast<long>(at_ns % 1000000000ull);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

Result<std::unique_ptr<LoopThread>> LoopThread::spawn(const Options& o, Body body) {
    auto tls = ClientContext::create(o);
    if (!tls) return tls.error();
    std::unique_ptr<LoopThread> t(new LoopThread());
    t->tls_ = std::move(*tls);
    t->body_ = std::move(body);
    LoopThread* self = t.get();
    t->thread_ = std::thread([self] {
        uv_loop_t loop;
        uv_loop_init(&loop);
        self->body_(&loop, *self->tls_);
        drain_loop(&loop);
        uv_loop_close(&loop);
    });
    return t;
}

LoopThread::~LoopThread() {
    join();
}

void LoopThread::join() {
    if (thread_.joinable()) thread_.join();
}

Result<std::vector<std::unique_ptr<LoopThread>>> spawn_threads(
    const Options& o, int n, const std::function<void(int, uv_loop_t*, ClientContext&)>& body) {
    std::vector<std::unique_ptr<LoopThread>> out;
    for (int i = 0; i < n; ++i) {
        auto t = LoopThread::spawn(o, [i, body](uv_loop_t* l, ClientContext& c) { body(i, l, c); });
        if (!t) {
            join_all(out);
            return t.error();
        }
        out.push_back(std::move(*t));
    }
    return out;
}

void join_all(std::vector<std::unique_ptr<LoopThread>>& threads) {
    for (auto& t : threads) t->join();
}

int share(int total, int parts, int i) {
    return total / parts + (i < total % parts ? 1 : 0);
}

void drain_loop(uv_loop_t* loop) {
    uv_run(loop, UV_RUN_DEFAULT);
    uv_walk(
        loop,
        [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
}

}  // namespace tlsward::bench
