// `tlsward check --print` (format_config): the configuration in effect,
// defaults filled in, as TOML that loads back to the same configuration.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "supervisor/config.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

std::string toml(const char* text) {
    std::string s = text;
    if (!s.empty() && s[0] == '\n') s.erase(0, 1);
    return s;
}

// What a configuration means, whatever its layout: its source and table
// lines dropped, and
// verify_client counted as given once client_ca set its default (the printed
// file gives it).
Config meaning(Config c) {
    c.source.clear();
    for (ServiceConfig& s : c.services) {
        s.line = 0;
        if (!s.tls.client_ca.empty()) s.tls.verify_client_set = true;
    }
    return c;
}

// Prints `c`, parses the print as the same file, and checks nothing changed.
void check_round_trip(const Config& c, const std::string& source, const std::string& base) {
    std::string printed = format_config(c);
    auto again = parse_config(printed, source, base);
    INFO(printed);
    INFO((again.ok() ? std::string() : again.message()));
    REQUIRE(again.ok());
    CHECK(meaning(again.value()) == meaning(c));
    // The same print, after the first line (which names the source).
    std::string second = format_config(again.value());
    CHECK(second.substr(second.find('\n')) == printed.substr(printed.find('\n')));
}

}  // namespace

TEST_CASE("check --print: defaults filled in, unset keys as comments", "[config][print]") {
    auto c = parse_config(toml(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "web.pem"
)"),
                          "/etc/tlsward/tlsward.toml");
    REQUIRE(c.ok());
    std::string p = format_config(c.value());
    for (const char* line : {
             "# The configuration in effect of /etc/tlsward/tlsward.toml, defaults filled in.\n",
             "\n[global]\nhelpers = 0\nlog_level = \"info\"\n",
             "drain_time = \"30s\"\n",
             "# control_socket: not set: a default under the runtime directory\n",
             "user = \"tlsward\"\ncrypto_user = \"tlsward-crypto\"\n",
             "netproc_nice = -5\n",
             "# rate_burst: not set: 100 ms of the rate, at least one TLS record\n",
             "\n[metrics]\n# listen: not set: no metrics endpoint\n",
             "\n[[service]]\nname = \"web\"\nmode = \"server\"\nlisten = [\"127.0.0.1:8443\"]\n",
             "handshake_timeout = \"10s\"\n",
             "idle_timeout = \"0s\"\n",
             "record_size = \"dynamic\"\n",
             "session_tickets = true\n",
             "log_connections = true\n",
             // The combined PEM: key names the same file.
             "\n[[service.certificate]]\ncert = \"/etc/tlsward/web.pem\"\n"
             "key = \"/etc/tlsward/web.pem\"\n",
         })
        CHECK_THAT(p, Catch::Contains(line));
    // Keys of the other mode are left out.
    CHECK_THAT(p, !Catch::Contains("server_name"));
    CHECK_THAT(p, !Catch::Contains("pin_spki"));
}

TEST_CASE("check --print loads back to the same configuration", "[config][print]") {
    SECTION("every kind of key, both modes") {
        auto c = parse_config(toml(R"(
[global]
helpers = 3
log_level = "warning"
drain_time = "1500ms"
control_socket = "/run/t/c.sock"
read_rate = "10MiB"
write_rate = 4096
rate_burst = "1MiB"
netproc_nice = -20
ticket_key_file = "keys/tickets"
session_lifetime = "3h"

[metrics]
listen = "unix:/run/t/metrics.sock"

[[service]]
name = "api"
listen = ["127.0.0.1:0", "[::1]:8443"]
target = "unix:/run/api.sock"
client_ca = "ca.pem"
allow_cn = ["alice", "b\"ob\\"]
allow_dns = "*.Clients.Example"
allow_spki = "sha256//qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo="
crl = ["a.crl", "b.crl"]
alpn = ["h2", "http/1.1"]
proxy_protocol = "v2"
accept_proxy = true
unknown_sni = "refuse"
session_tickets = false
connection_read_rate = "64KiB"
max_connections_per_source = 7
record_size = 4096
record_idle_reset = 0
key_update_after = "1GB"
key_update_interval = "1h"
idle_timeout = "5m"
log_connections = false
[[service.certificate]]
cert = "a.crt"
key = "a.key"
names = ["a.example", "*.a.example"]
ocsp = "a.ocsp"
[[service.certificate]]
cert = "b.pem"

[[service]]
name = "out"
mode = "client"
listen = "127.0.0.1:2525"
target = "mail.example.net:465"
ca = "/etc/ssl/certs"
server_name = "sni.example"
verify_name = "192.0.2.1"
pin_spki = ["AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA"]
cert = "client.pem"
key = "client.key"
)"),
                              "/etc/tlsward/tlsward.toml");
        INFO((c.ok() ? std::string() : c.message()));
        REQUIRE(c.ok());
        check_round_trip(c.value(), "/etc/tlsward/tlsward.toml", "/etc/tlsward");
        std::string p = format_config(c.value());
        // The burst given once applies to both directions.
        CHECK_THAT(p, Catch::Contains("\nrate_burst = 1048576\n"));
        CHECK_THAT(p, Catch::Contains("\nlog_level = \"warn\"\n"));
        CHECK_THAT(p, Catch::Contains("allow_cn = [\"alice\", \"b\\\"ob\\\\\"]"));
        CHECK_THAT(p, Catch::Contains("verify_client = \"require\""));
    }
    SECTION("the shipped examples and the fuzzing corpus") {
        namespace fs = std::filesystem;
        int seen = 0;
        for (const char* dir : {"examples", "tests/fuzz/corpus/config_loader"}) {
            for (const auto& entry : fs::directory_iterator(fs::path(TLSWARD_SOURCE_DIR) / dir)) {
                std::ifstream f(entry.path());
                std::stringstream text;
                text << f.rdbuf();
                auto c = parse_config(text.str(), "/fuzz/tlsward.toml", "/fuzz");
                if (!c) continue;
                INFO(entry.path().string());
                check_round_trip(c.value(), "/fuzz/tlsward.toml", "/fuzz");
                ++seen;
            }
        }
        CHECK(seen >= 5);
    }
    SECTION("the quick mode's flags") {
        Config c;
        c.source = "command line";
        ServiceConfig s;
        s.name = "server";
        s.listen = {"127.0.0.1:8443"};
        s.target = "127.0.0.1:8080";
        s.certificates = {{"/etc/c.pem", "/etc/c.pem"}};
        s.link.connection_read = {1 << 20, default_burst(1 << 20)};
        c.services.push_back(s);
        check_round_trip(c, "/tmp/x.toml", "/tmp");
    }
}
