#include "netproc/close_reason.hpp"

#include "common/log_limiter.hpp"
#include "common/tls_suites.hpp"
#include "netproc/record_layer.hpp"

namespace tlsward::netproc {

namespace {

// Connections that never finish a handshake come in floods (scanners, a
// broken client fleet): the first 20 a second are logged in full, the rest
// counted and the count carried by the next line that is written.
LogBudget g_failure_log(1000, 20);

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

// An idle timeout and our own shutdown end through the alert path too
// (close_notify, then linger), but are no error.
bool orderly_alert_path(CloseKind kind) {
    return kind == CloseKind::idle_timeout || kind == CloseKind::shutting_down;
}

}  // namespace

uint64_t connection_log_lines_suppressed() {
    return g_failure_log.suppressed_total();
}

LogLevel close_log_level(const CloseReason& why, const CloseRecord& what) {
    if (why.kind == CloseKind::refused) return LogLevel::debug;
    if (!what.records) return LogLevel::info;
    // An established connection. With log_connections = false only those
    // that ended in an error are logged at info.
    bool error = what.after_alert && !orderly_alert_path(why.kind);
    return what.log_connections || error ? LogLevel::info : LogLevel::debug;
}

void log_close(const CloseReason& why, const CloseRecord& what, uint64_t now_ms) {
    LogLevel level = close_log_level(why, what);
    if (why.kind == CloseKind::refused) {
        // Counted and logged (rate-limited) where the refusal was decided.
        LOG_DEBUG("event=close conn=%llu service=%s peer=%s reason=\"%s\"", ull(what.conn_id),
                  what.service, what.peer.c_str(), why.text.c_str());
        return;
    }
    if (what.records) {
        if (level < log_level()) return;
        log_write(level,
                  "event=close conn=%llu service=%s peer=%s version=%s suite=%s sni=\"%s\" "
                  "alpn=\"%s\" peer_cn=\"%s\" bytes_in=%llu bytes_out=%llu duration_ms=%llu "
                  "reason=\"%s\"",
                  ull(what.conn_id), what.service, what.peer.c_str(),
                  tls_version_name(what.records->version()), what.records->suite().name, what.sni,
                  what.alpn, what.peer_cn, ull(what.bytes_in), ull(what.bytes_out),
                  ull(what.duration_ms), why.text.c_str());
        return;
    }
    // Never got as far as a record layer: a failed handshake, a client that
    // went away, a target that could not be reached. Floods of these are
    // what bad clients produce, so they are budgeted.
    if (!g_failure_log.allow(now_ms)) return;
    uint64_t suppressed = g_failure_log.take_suppressed();
    std::string tail = suppressed ? strfmt(" suppressed=%llu", ull(suppressed)) : std::string();
    log_write(level, "event=close conn=%llu service=%s peer=%s duration_ms=%llu reason=\"%s\"%s",
              ull(what.conn_id), what.service, what.peer.c_str(), ull(what.duration_ms),
              why.text.c_str(), tail.c_str());
}

}  // namespace tlsward::netproc
