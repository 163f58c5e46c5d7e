// Generations: each configuration the supervisor runs is a numbered
// generation with its own helpers. One is active (netproc serves it); a
// reload prepares the next one as pending while its helpers start, and
// commits it (it becomes the active one) or abandons it. This is which
// generation exists and which child belongs to which; the reload itself
// (supervisor/supervisor_reload.cpp) drives them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "supervisor/child_table.hpp"
#include "supervisor/listener_plan.hpp"
#include "supervisor/metrics_listener.hpp"
#include "supervisor/prepared_config.hpp"

namespace tlsward::supervisor {

// A configuration as it runs: its number, and the socket behind each
// listen address.
struct Generation {
    uint32_t number = 0;
    PreparedConfig config;
    std::vector<ServiceListener> listeners;
    // The metrics endpoint's socket (none: off); shared with the next
    // generation when its [metrics] listen is the same.
    std::shared_ptr<MetricsSocket> metrics;
};

class Generations {
public:
    // Generation 1 runs `first`, whose service ids are their positions.
    explicit Generations(PreparedConfig first);
    Generations(const Generations&) = delete;
    Generations& operator=(const Generations&) = delete;

    Generation& active() { return *active_; }
    const Generation& active() const { return *active_; }
    Generation* pending() { return pending_.get(); }
    const Generation* pending() const { return pending_.get(); }

    // A reload's configuration gets its service ids: a service keeps its
    // id by (name, mode) (handshakes queued in netproc name it); a new one
    // gets an id never used before.
    void assign_service_ids(PreparedConfig& config);
    // A reload's generation, prepared (ids assigned, listeners planned):
    // the pending one, numbered after every generation so far.
    Generation& begin(PreparedConfig config, std::vector<ServiceListener> listeners,
                      std::shared_ptr<MetricsSocket> metrics);
    // The pending generation becomes the active one. The old one is handed
    // back: the sockets only it used close when it goes.
    std::unique_ptr<Generation> commit();
    // The pending generation is dropped (closing the sockets bound for it).
    void abandon() { pending_.reset(); }

    // A helper of the active generation that is not retiring: one netproc
    // uses, which must answer PINGs.
    bool active_helper(const Child& c) const;
    // A helper the pending generation is waiting for.
    bool pending_helper(const Child& c) const;
    // The configuration c runs: the pending generation's for its helpers,
    // else the active one's.
    const PreparedConfig& config_for(const Child& c) const;

private:
    std::unique_ptr<Generation> active_;
    std::unique_ptr<Generation> pending_;
    uint32_t last_number_ = 0;
    uint32_t last_service_id_ = 0;
};

}  // namespace tlsward::supervisor
