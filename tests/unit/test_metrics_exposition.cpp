// The Prometheus exposition: names, labels, cumulative histograms.
#include <catch2/catch.hpp>
#include <string>

#include "netproc/metrics_exposition.hpp"

using namespace tlsward::netproc;

namespace {
bool has(const std::string& text, const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
}
}  // namespace

TEST_CASE("exposition: per-service counters by name", "[metrics]") {
    MetricsRegistry reg;
    MetricsSnapshot s;
    s.registry = &reg;
    ServiceCounters& web = s.services["web"];
    web.connections_open = 2;
    web.connections_total = 10;
    web.handshakes_ok = 7;
    web.handshakes_failed = 3;
    web.failed_by_reason[static_cast<size_t>(tlsward::ipc::FailReason::alert_sent)] = 2;
    web.failed_by_reason[static_cast<size_t>(HandshakeFailure::helper_timeout)] = 1;
    web.refused_queue_full = 4;
    web.bytes_from_tls = 100;
    web.bytes_to_tls = 200;
    web.key_updates_sent = 5;
    web.throttled_ms = 1500;
    s.handshake_queue_depth = 6;
    std::string t = render_exposition(s);
    CHECK(has(t, "# TYPE tlsward_connections_open gauge"));
    CHECK(has(t, "tlsward_connections_open{service=\"web\"} 2"));
    CHECK(has(t, "tlsward_connections_total{service=\"web\"} 10"));
    CHECK(has(t, "tlsward_handshakes_total{service=\"web\",result=\"ok\"} 7"));
    CHECK(has(t, "tlsward_handshakes_total{service=\"web\",result=\"failed\"} 3"));
    CHECK(has(t, "tlsward_handshake_failures_total{service=\"web\",reason=\"alert_sent\"} 2"));
    CHECK(has(t, "tlsward_handshake_failures_total{service=\"web\",reason=\"helper_timeout\"} 1"));
    CHECK(has(t, "tlsward_handshake_failures_total{service=\"web\",reason=\"timeout\"} 0"));
    CHECK(has(t, "tlsward_connections_refused_total{service=\"web\",reason=\"queue_full\"} 4"));
    CHECK(has(t, "tlsward_bytes_received_total{service=\"web\"} 100"));
    CHECK(has(t, "tlsward_bytes_sent_total{service=\"web\"} 200"));
    CHECK(has(t, "tlsward_key_updates_total{service=\"web\",direction=\"sent\"} 5"));
    CHECK(has(t, "tlsward_throttled_seconds_total{service=\"web\"} 1.500000"));
    CHECK(has(t, "tlsward_handshake_queue_depth 6"));
    // Nothing from the supervisor yet: its families are left out.
    CHECK(t.find("tlsward_reloads_total") == std::string::npos);
}

TEST_CASE("exposition: histograms are cumulative with +Inf, sum and count", "[metrics]") {
    MetricsRegistry reg;
    reg.handshake_helper_time.observe(700);       // 0.7 ms -> le 0.001
    reg.handshake_helper_time.observe(3000);      // 3 ms -> le 0.005
    reg.handshake_helper_time.observe(20000000);  // 20 s -> +Inf
    reg.record_sizes.observe(1400);
    reg.have_supervisor = true;
    reg.supervisor.generation = 4;
    reg.supervisor.reloads_ok = 3;
    reg.supervisor.helper_restarts = 1;
    MetricsSnapshot s;
    s.registry = &reg;
    std::string t = render_exposition(s);
    CHECK(has(t, "# TYPE tlsward_handshake_helper_seconds histogram"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_bucket{le=\"0.0005\"} 0"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_bucket{le=\"0.001\"} 1"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_bucket{le=\"0.005\"} 2"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_bucket{le=\"10\"} 2"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_bucket{le=\"+Inf\"} 3"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_count 3"));
    CHECK(has(t, "tlsward_handshake_helper_seconds_sum 20.003700"));
    CHECK(has(t, "tlsward_record_size_bytes_bucket{le=\"1024\"} 0"));
    CHECK(has(t, "tlsward_record_size_bytes_bucket{le=\"1400\"} 1"));
    CHECK(has(t, "tlsward_record_size_bytes_sum 1400"));
    CHECK(has(t, "tlsward_config_generation 4"));
    CHECK(has(t, "tlsward_reloads_total{result=\"ok\"} 3"));
    CHECK(has(t, "tlsward_process_restarts_total{role=\"crypto\"} 1"));
}
