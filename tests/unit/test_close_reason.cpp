// The close line's level follows from the close reason's kind and from how
// far the connection got (netproc/close_reason.hpp), never from its text:
// the levels operators filter on stay what they were.
#include "netproc/close_reason.hpp"

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;

TEST_CASE("close line level: refusals, early ends and established connections", "[close_reason]") {
    auto layer = make_layer(fixed_handoff(0x1301), true);
    CloseRecord early;
    CloseRecord established;
    established.records = layer.get();

    // A refusal has its own line where it was decided.
    CHECK(close_log_level({CloseKind::refused, "refused: max_connections reached"}, early) ==
          LogLevel::debug);
    // Before a record layer: info (under the flood budget), whatever the kind.
    for (CloseKind k : {CloseKind::proxy_header, CloseKind::handshake_failed,
                        CloseKind::target_unreachable, CloseKind::shutting_down}) {
        early.log_connections = false;
        CHECK(close_log_level({k, "x"}, early) == LogLevel::info);
    }

    // Established, ended without an error: info only if the service logs
    // every connection.
    for (CloseKind k : {CloseKind::done, CloseKind::close_notify, CloseKind::peer_closed,
                        CloseKind::io_error, CloseKind::half_closed_timeout}) {
        established.log_connections = true;
        CHECK(close_log_level({k, "x"}, established) == LogLevel::info);
        established.log_connections = false;
        CHECK(close_log_level({k, "x"}, established) == LogLevel::debug);
    }
    // An alert path is an error (info), except an idle timeout and our own
    // shutdown, which close with close_notify too.
    established.log_connections = false;
    established.after_alert = true;
    for (CloseKind k : {CloseKind::alert_sent, CloseKind::alert_received, CloseKind::key_limit,
                        CloseKind::target_unreachable, CloseKind::alert_not_flushed,
                        CloseKind::io_error, CloseKind::internal})
        CHECK(close_log_level({k, "x"}, established) == LogLevel::info);
    CHECK(close_log_level({CloseKind::idle_timeout, "idle timeout"}, established) ==
          LogLevel::debug);
    CHECK(close_log_level({CloseKind::shutting_down, "shutting down"}, established) ==
          LogLevel::debug);
    // The text decides nothing.
    CHECK(close_log_level({CloseKind::alert_not_flushed, "idle timeout"}, established) ==
          LogLevel::info);
    CHECK(close_log_level({CloseKind::internal, "refused: looks like one"}, early) ==
          LogLevel::info);
}
