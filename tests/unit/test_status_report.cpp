// "tlsward status": the text and JSON renderings and systemd's STATUS= line.
#include <catch2/catch.hpp>
#include <string>

#include "supervisor/status_report.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

StatusReport sample() {
    StatusReport r;
    r.version = "0.1.0";
    r.pid = 100;
    r.uptime_ms = 3723000;
    r.state = "running";
    r.config_source = "/etc/tlsward/t.toml";
    r.generation = 3;
    r.reloads_ok = 2;
    r.reloads_failed = 1;
    r.last_reload_error = "/etc/k.pem: not a PEM \"private\" key";
    r.processes = {{"netproc", "netproc", 101, 0, 3, "ready", 1, 5000},
                   {"crypto", "crypto[0]", 102, 0, 3, "ready", 0, 4000},
                   {"crypto", "crypto[1]", 0, 1, 3, "down", 2, 0},
                   {"crypto", "crypto[0]", 90, 0, 2, "retiring", 0, 9000}};
    ipc::NpStatus n;
    n.connections_open = 12;
    n.connections_total = 3456;
    n.handshakes_ok = 3400;
    n.handshakes_failed = 56;
    n.handshakes_in_flight = 2;
    r.netproc = n;
    r.netproc_report_age_ms = 300;
    r.handshakes_per_second = 120.5;
    r.services = {{1, "web", "server", {"127.0.0.1:8443", "[::1]:8443"}, 2, {}}};
    r.services[0].live = ipc::NpServiceStatus{1, 12, 3456, 3400, 56, 1000, 2000};
    r.metrics_listen = "127.0.0.1:9100";
    return r;
}

}  // namespace

TEST_CASE("status: JSON carries every count, escaped", "[status]") {
    std::string j = render_status_json(sample());
    CHECK(j.find("\"generation\":3,") != std::string::npos);
    CHECK(j.find("\"reloads\":{\"ok\":2,\"failed\":1,\"last_error\":\"/etc/k.pem: not a PEM "
                 "\\\"private\\\" key\"}") != std::string::npos);
    CHECK(j.find("\"connections\":{\"open\":12,\"total\":3456}") != std::string::npos);
    CHECK(j.find("\"per_second\":120.50") != std::string::npos);
    CHECK(j.find("\"helpers\":{\"ready\":1,\"configured\":2}") != std::string::npos);
    CHECK(j.find("\"listen\":[\"127.0.0.1:8443\",\"[::1]:8443\"]") != std::string::npos);
    CHECK(j.find("\"state\":\"retiring\"") != std::string::npos);
    CHECK(j.find("\"metrics\":\"127.0.0.1:9100\"") != std::string::npos);
    CHECK(j.find("\"certificates\":2,\"connections\":{\"open\":12,\"total\":3456},"
                 "\"handshakes\":{\"ok\":3400,\"failed\":56},\"bytes\":{\"from_tls\":1000,"
                 "\"to_tls\":2000}}") != std::string::npos);
    CHECK(j.back() == '\n');

    StatusReport none = sample();
    none.netproc.reset();
    none.last_reload_error.clear();
    std::string j2 = render_status_json(none);
    CHECK(j2.find("\"netproc_report_age_ms\":null") != std::string::npos);
    CHECK(j2.find("\"last_error\":null") != std::string::npos);
    none.metrics_listen.clear();
    CHECK(render_status_json(none).find("\"metrics\":null") != std::string::npos);
}

TEST_CASE("status: text and STATUS= line", "[status]") {
    std::string t = render_status_text(sample());
    CHECK(t.find("generation 3") != std::string::npos);
    CHECK(t.find("up 1h02m") != std::string::npos);
    CHECK(t.find("connections: 12 open") != std::string::npos);
    CHECK(t.find("web (server): 127.0.0.1:8443, [::1]:8443, 2 certificates") != std::string::npos);
    CHECK(t.find("    12 open, 3456 total; handshakes 3400 ok, 56 failed; bytes 1000 from TLS "
                 "peers, 2000 to TLS peers\n") != std::string::npos);
    CHECK(t.find("metrics: 127.0.0.1:9100\n") != std::string::npos);
    CHECK(render_status_line(sample()) ==
          "running: 12 connections, 120.5 handshakes/s, helpers 1/2, generation 3");
}

TEST_CASE("status: JSON strings are escaped", "[status]") {
    CHECK(json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
}
