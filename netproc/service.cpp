#include "netproc/service.hpp"

namespace tlsward::netproc {

const char* handshake_failure_name(size_t slot) {
    switch (slot) {
        case static_cast<size_t>(HandshakeFailure::helper_timeout):
            return "helper_timeout";
        case static_cast<size_t>(HandshakeFailure::handoff_rejected):
            return "handoff_rejected";
        default:
            break;
    }
    if (slot == 0 || slot > static_cast<size_t>(ipc::kLastFailReason)) return nullptr;
    return ipc::fail_reason_name(static_cast<ipc::FailReason>(slot));
}

void ServiceCounters::add(const ServiceCounters& o) {
    connections_total += o.connections_total;
    connections_open += o.connections_open;
    refused_queue_full += o.refused_queue_full;
    refused_shed += o.refused_shed;
    refused_limit += o.refused_limit;
    key_updates_sent += o.key_updates_sent;
    key_updates_received += o.key_updates_received;
    handshakes_ok += o.handshakes_ok;
    handshakes_failed += o.handshakes_failed;
    bytes_from_tls += o.bytes_from_tls;
    bytes_to_tls += o.bytes_to_tls;
    for (size_t i = 0; i < failed_by_reason.size(); ++i)
        failed_by_reason[i] += o.failed_by_reason[i];
    throttled_ms += o.throttled_ms;
}

}  // namespace tlsward::netproc
