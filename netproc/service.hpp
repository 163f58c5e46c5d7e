// A service as netproc runs it: what the supervisor sent in NP_SERVICE,
// plus the live counters of its connections.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "ipc/messages.hpp"
#include "netproc/throttle.hpp"

namespace tlsward::netproc {

// Why handshakes failed, for the metrics, by value: the helper's reasons
// (ipc::FailReason, 1 to ipc::kLastFailReason) and right after them two
// only netproc sees.
enum class HandshakeFailure : uint8_t {
    // the helper did not answer within deadline + grace
    helper_timeout = static_cast<uint8_t>(ipc::kLastFailReason) + 1,
    // the helper's hand-off did not pass netproc's checks
    handoff_rejected,
};
inline constexpr size_t kHandshakeFailureSlots =
    static_cast<size_t>(HandshakeFailure::handoff_rejected) + 1;
// "alert_sent", ..., "helper_timeout"; nullptr for an unused slot.
const char* handshake_failure_name(size_t slot);

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
    std::array<uint64_t, kHandshakeFailureSlots> failed_by_reason{};
    uint64_t throttled_ms = 0;  // time connections waited for tokens (both directions)

    void add(const ServiceCounters& o);
};

struct Service {
    ipc::NpService config;
    uint32_t generation = 0;
    ServiceCounters counters;
    // Shared rate-limit buckets, kept by name across reloads (throttle.hpp).
    std::shared_ptr<SharedBuckets> buckets;
};

}  // namespace tlsward::netproc
