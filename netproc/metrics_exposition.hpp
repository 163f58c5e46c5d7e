// Prometheus text exposition (format 0.0.4) of netproc's counters. Pure:
// it reads a snapshot of plain integers and builds one string, so it can
// be unit-tested and costs the loop only the formatting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "netproc/metrics_registry.hpp"
#include "netproc/service.hpp"

namespace tlsward::netproc {

struct MetricsSnapshot {
    // By service name: counters summed over every configuration the
    // service ran under since netproc started (reloads keep names).
    std::map<std::string, ServiceCounters> services;
    uint32_t generation = 0;  // netproc's own (the supervisor's is in registry)
    size_t handshake_queue_depth = 0;
    size_t handshakes_in_flight = 0;
    size_t helpers_live = 0;
    uint64_t log_lines_suppressed = 0;
    const MetricsRegistry* registry = nullptr;
};

std::string render_exposition(const MetricsSnapshot& s);

}  // namespace tlsward::netproc
