// A client thread: its own libuv loop and its own ClientContext. The body
// runs on the thread, sets up its work on the loop, calls uv_run and
// collects its results; afterwards the thread closes whatever handles the
// body's objects left closing and the loop itself.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <thread>

#include "bench/options.hpp"
#include "bench/tls_client.hpp"
#include "common/result.hpp"

namespace tlsward::bench {

class LoopThread {
public:
    using Body = std::function<void(uv_loop_t* loop, ClientContext& tls)>;

    // The TLS context is made here, so a bad --cipher fails before any thread starts.
    static Result<std::unique_ptr<LoopThread>> spawn(const Options& o, Body body);
    ~LoopThread();
    void join();

    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;

private:
    LoopThread() = default;
    std::unique_ptr<ClientContext> tls_;
    Body body_;
    std::thread thread_;
};

// Starts `n` threads (stops at the first failure).
Result<std::vector<std::unique_ptr<LoopThread>>> spawn_threads(
    const Options& o, int n,
    const std::function<void(int index, uv_loop_t*, ClientContext&)>& body);
void join_all(std::vector<std::unique_ptr<LoopThread>>& threads);

// Splits `total` into `parts` nearly equal shares; share `i` of them.
int share(int total, int parts, int i);

// Runs the loop until nothing is left on it, then closes every remaining
// handle and runs it again so their close callbacks run.
void drain_loop(uv_loop_t* loop);

}  // namespace tlsward::bench
