// Why a connection ended, as a kind the code decides on and a text for the
// close line, and the one line a connection logs when it ends. The line's
// shape and level follow from the kind (and from whether the connection got
// as far as a record layer), never from the text: operators and tests parse
// these lines, so the texts stay as they were written at each call site.
#pragma once

#include <cstdint>
#include <string>

#include "common/log.hpp"

namespace tlsward::netproc {

class RecordLayer;

enum class CloseKind : uint8_t {
    // Before a record layer exists.
    refused,             // limits or the helpers' queue said no (logged where decided)
    proxy_header,        // the load balancer's PROXY header: missing, malformed, cut short
    handshake_failed,    // failed or timed out, in a helper or before one was used
    target_unreachable,  // the connect to the target failed or timed out
    // Once proxying (or about to).
    done,                 // both directions ended in order
    close_notify,         // the TLS peer sent close_notify (its direction ended)
    peer_closed,          // a peer closed its side (EOF; the TLS peer without close_notify)
    io_error,             // a socket error, a reset, a failed send or recv
    alert_received,       // the TLS peer sent a fatal alert
    alert_sent,           // the TLS peer broke the protocol: we sent a fatal alert
    key_limit,            // TLS 1.2 at its key usage limit: closed with close_notify
    idle_timeout,         // nothing moved within idle_timeout: closed with close_notify
    half_closed_timeout,  // one direction ended, the other stayed silent too long
    alert_not_flushed,    // a closing alert did not drain within the linger time
    shutting_down,        // netproc is stopping
    internal,             // sealing, a KeyUpdate, epoll_ctl or a buffer failed
};

struct CloseReason {
    CloseKind kind = CloseKind::internal;
    std::string text;  // what the close line's reason= says
};

// What the close line says besides the reason.
struct CloseRecord {
    uint64_t conn_id = 0;
    const char* service = "";
    std::string peer;
    // The connection's record layer; null if it never got one (then the
    // line is the short one, and floods of it are budgeted).
    const RecordLayer* records = nullptr;
    const char* sni = "";
    const char* alpn = "";
    const char* peer_cn = "";
    uint64_t bytes_in = 0;   // plaintext from the TLS peer
    uint64_t bytes_out = 0;  // plaintext to the TLS peer
    uint64_t duration_ms = 0;
    // It was ending through a sealed alert (a fatal one, or close_notify
    // sent on our own initiative) when it closed.
    bool after_alert = false;
    bool log_connections = true;  // the service's setting
};

// The level of the close line. A refusal: debug (it has its own line where
// it was decided). Without a record layer: info (budgeted). With one: info
// if it ended in an error (an alert path other than an idle timeout or our
// own shutdown) or the service logs every connection, else debug.
LogLevel close_log_level(const CloseReason& why, const CloseRecord& what);

// Writes the close line (if its level is enabled and, for the short line,
// the flood budget allows; now_ms is the budget's clock).
void log_close(const CloseReason& why, const CloseRecord& what, uint64_t now_ms);

// Close lines left out by the flood budget so far (for the metrics).
uint64_t connection_log_lines_suppressed();

}  // namespace tlsward::netproc
