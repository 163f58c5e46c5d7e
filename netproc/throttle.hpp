// Throttling at the wire: token buckets for bytes read from and written to
// TLS peers, at three scopes (all services, one service, one connection),
// applied where netproc reads and writes the TLS socket. A connection that
// finds a bucket empty stops reading (so TCP pushes back on the sender) or
// stops writing (so its buffers fill and it stops reading the other side),
// and waits for the one refill tick shared by every blocked connection.
//
// Fairness: while a shared bucket is contended (someone had to wait on it),
// nobody takes from it directly; each tick divides what it holds equally
// among the connections waiting on it, as a per-connection grant. So a
// hundred connections behind one limit each get a hundredth, whichever the
// loop happens to serve first.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/uv_handles.hpp"
#include "ipc/messages.hpp"
#include "netproc/token_bucket.hpp"

namespace tlsward::netproc {

enum class Direction { read = 0, write = 1 };

// The buckets of one shared scope (all services, or one service).
struct SharedBuckets {
    TokenBucket bucket[2];
    // Connections waiting on this scope during the current tick, and
    // whether it is contended (grants rule instead of direct takes).
    size_t waiters[2] = {0, 0};
    bool contended[2] = {false, false};
};

// A connection's throttling state; the connection owns it.
struct ThrottleState {
    TokenBucket own[2];
    std::shared_ptr<SharedBuckets> service;
    uint64_t grant[2] = {0, 0};
    bool waiting[2] = {false, false};
    uint64_t throttled_ms = 0;  // total time spent waiting (for metrics)
    uint64_t wait_started_ms[2] = {0, 0};
    // Called by the tick when the connection may try again.
    std::function<void()> wake;
};

class Throttle {
public:
    explicit Throttle(uv_loop_t* loop);
    ~Throttle();

    void configure_global(const ipc::RateLimit& read, const ipc::RateLimit& write);
    // The shared buckets of a service, kept across reloads by name so that
    // a reload changes the limits of connections already running.
    std::shared_ptr<SharedBuckets> service_buckets(const std::string& name,
                                                   const ipc::RateLimit& read,
                                                   const ipc::RateLimit& write);

    // Whether a limit other than the connection's own applies to a
    // connection of this service (the global one or the service's).
    bool limits(const SharedBuckets* service) const;

    // Bytes the connection may move now (<= want). 0: it must wait; it is
    // then registered and its wake() is called from a later tick.
    size_t allowance(ThrottleState& s, Direction d, size_t want);
    void consumed(ThrottleState& s, Direction d, size_t n);
    // The connection is going away.
    void forget(ThrottleState& s);

    size_t waiting() const { return waiting_.size(); }
    static constexpr uint64_t kTickMs = 20;

private:
    SharedBuckets* scope(ThrottleState& s, int i);
    void tick();

    uv_loop_t* loop_;
    SharedBuckets global_;
    std::map<std::string, std::weak_ptr<SharedBuckets>> services_;
    std::vector<ThrottleState*> waiting_;
    UvTimer timer_;
};

}  // namespace tlsward::netproc
