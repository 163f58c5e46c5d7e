// A service as netproc runs it: what the supervisor sent in NP_SERVICE,
// plus the live counters of its connections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ipc/messages.hpp"
#include "netproc/throttle.hpp"

namespace tlsward::netproc {

struct ServiceCounters {
    uint64_t connections_total = 0;
    uint64_t connections_open = 0;
    uint64_t refused_queue_full = 0;
    uint64_t refused_shed = 0;   // admission: could not start before its deadline
    uint64_t refused_limit = 0;  // max_connections, per service or per source
    uint64_t key_updates_sent = 0;
    uint64_t key_updates_received = 0;
    uint64_t handshakes_ok = 0;
    uint64_t handshakes_failed = 0;
    uint64_t bytes_from_tls = 0;  // plaintext received from the TLS peer
    uint64_t bytes_to_tls = 0;    // plaintext sent to the TLS peer
};

struct Service {
    ipc::NpService config;
    uint32_t generation = 0;
    ServiceCounters counters;
    // Shared rate-limit buckets, kept by name across reloads (throttle.hpp).
    std::shared_ptr<SharedBuckets> buckets;
};

}  // namespace tlsward::netproc
