#include "netproc/throttle.hpp"

#include <algorithm>

namespace tlsward::netproc {

Throttle::Throttle(uv_loop_t* loop) : loop_(loop), timer_(loop, [this] { tick(); }) {}

Throttle::~Throttle() = default;

void Throttle::configure_global(const ipc::RateLimit& read, const ipc::RateLimit& write) {
    uint64_t now = uv_now(loop_);
    global_.bucket[0].configure(read, now);
    global_.bucket[1].configure(write, now);
}

std::shared_ptr<SharedBuckets> Throttle::service_buckets(const std::string& name,
                                                         const ipc::RateLimit& read,
                                                         const ipc::RateLimit& write) {
    uint64_t now = uv_now(loop_);
    std::shared_ptr<SharedBuckets> b = services_[name].lock();
    if (!b) {
        b = std::make_shared<SharedBuckets>();
        services_[name] = b;
    }
    b->bucket[0].configure(read, now);
    b->bucket[1].configure(write, now);
    // Forget services no connection or configuration holds any more.
    for (auto it = services_.begin(); it != services_.end();)
        it = it->second.expired() ? services_.erase(it) : std::next(it);
    return b;
}

bool Throttle::limits(const SharedBuckets* service) const {
    auto limited = [](const SharedBuckets& b) {
        return b.bucket[0].limited() || b.bucket[1].limited();
    };
    return limited(global_) || (service && limited(*service));
}

// Scope 0: the service, 1: everything.
SharedBuckets* Throttle::scope(ThrottleState& s, int i) {
    return i == 0 ? s.service.get() : &global_;
}

size_t Throttle::allowance(ThrottleState& s, Direction d, size_t want) {
    int di = static_cast<int>(d);
    uint64_t now = uv_now(loop_);
    uint64_t limit = want;
    limit = std::min(limit, s.own[di].available(now));
    for (int i = 0; i < 2; ++i) {
        SharedBuckets* b = scope(s, i);
        if (!b || !b->bucket[di].limited()) continue;
        uint64_t avail = b->bucket[di].available(now);
        limit = std::min(limit, b->contended[di] ? std::min(avail, s.grant[di]) : avail);
    }
    if (limit > 0 || want == 0) return static_cast<size_t>(limit);
    if (!s.waiting[di]) {
        s.waiting[di] = true;
        s.wait_started_ms[di] = now;
        if (!s.waiting[1 - di]) waiting_.push_back(&s);
        for (int i = 0; i < 2; ++i) {
            SharedBuckets* b = scope(s, i);
            if (b && b->bucket[di].limited()) {
                ++b->waiters[di];
                b->contended[di] = true;
            }
        }
    }
    if (!timer_.active()) timer_.start(kTickMs, kTickMs);
    return 0;
}

void Throttle::consumed(ThrottleState& s, Direction d, size_t n) {
    int di = static_cast<int>(d);
    s.own[di].take(n);
    s.grant[di] -= std::min<uint64_t>(s.grant[di], n);
    for (int i = 0; i < 2; ++i)
        if (SharedBuckets* b = scope(s, i)) b->bucket[di].take(n);
}

void Throttle::forget(ThrottleState& s) {
    for (int di = 0; di < 2; ++di) {
        if (!s.waiting[di]) continue;
        s.waiting[di] = false;
        for (int i = 0; i < 2; ++i)
            if (SharedBuckets* b = scope(s, i); b && b->waiters[di] > 0) --b->waiters[di];
    }
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &s), waiting_.end());
}

void Throttle::tick() {
    uint64_t now = uv_now(loop_);
    std::vector<ThrottleState*> woken;
    woken.swap(waiting_);

    // Shares first, for every scope, from what each holds now; then the
    // grants; then the wake-ups (which may take tokens and wait again).
    std::vector<SharedBuckets*> scopes = {&global_};
    for (ThrottleState* s : woken)
        if (s->service) scopes.push_back(s->service.get());
    std::sort(scopes.begin(), scopes.end());
    scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
    std::map<SharedBuckets*, uint64_t> share[2];
    for (SharedBuckets* b : scopes) {
        for (int di = 0; di < 2; ++di) {
            if (b->waiters[di] > 0) share[di][b] = b->bucket[di].available(now) / b->waiters[di];
            // Nobody waited during this tick: the scope is free for all.
            b->contended[di] = b->waiters[di] > 0;
            b->waiters[di] = 0;
        }
    }
    for (ThrottleState* s : woken) {
        for (int di = 0; di < 2; ++di) {
            if (!s->waiting[di]) continue;
            uint64_t g = TokenBucket::kUnlimited;
            for (int i = 0; i < 2; ++i) {
                SharedBuckets* b = scope(*s, i);
                if (b && b->bucket[di].limited()) g = std::min(g, share[di][b]);
            }
            s->grant[di] = g == TokenBucket::kUnlimited ? 0 : g;
            s->throttled_ms += now - s->wait_started_ms[di];
            s->waiting[di] = false;
        }
    }
    for (ThrottleState* s : woken)
        if (s->wake) s->wake();
    if (waiting_.empty()) timer_.stop();
}

}  // namespace tlsward::netproc
