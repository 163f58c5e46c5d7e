// Alert names as the RFCs spell them, TLS 1.3's included.
#include <catch2/catch.hpp>
#include <string>

#include "common/tls_alerts.hpp"

using namespace tlsward;

TEST_CASE("TLS alerts are named as the RFCs name them", "[log]") {
    CHECK(std::string(tls_alert_name(116)) == "certificate_required");
    CHECK(std::string(tls_alert_name(109)) == "missing_extension");
    CHECK(std::string(tls_alert_name(120)) == "no_application_protocol");
    CHECK(std::string(tls_alert_name(40)) == "handshake_failure");
    CHECK(std::string(tls_alert_name(0)) == "close_notify");
    CHECK(std::string(tls_alert_name(255)) == "unknown_alert");
}
