// tlsward.toml: what a good file becomes, and the exact "FILE:LINE: ..." for
// each kind of mistake (the line number is part of the contract).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "supervisor/config.hpp"
#include "supervisor/resolve.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

// Raw strings start with a newline for readability; line 1 is the line after it.
std::string toml(const char* text) {
    std::string s = text;
    if (!s.empty() && s[0] == '\n') s.erase(0, 1);
    return s;
}

Config parse_ok(const char* text, const std::string& source = "/etc/tlsward/tlsward.toml") {
    auto c = parse_config(toml(text), source);
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    return c.value();
}

std::string parse_error(const char* text) {
    auto c = parse_config(toml(text), "tlsward.toml");
    REQUIRE_FALSE(c.ok());
    return c.message();
}

}  // namespace

TEST_CASE("a complete configuration parses to the expected model", "[config]") {
    Config c = parse_ok(R"(
[global]
helpers = 2
log_level = "debug"
handshake_queue_limit = 100
max_jobs_per_helper = 64
drain_time = "5s"
control_socket = "/run/tlsward/control.sock"
user = "nobody"
crypto_user = "nogroup-crypto"

[[service]]
name = "web"
listen = ["127.0.0.1:8443", "[::1]:8443"]
target = "backend.example:8080"
cert = "certs/web.crt"
key = "/secret/web.key"
handshake_timeout = 5
connect_timeout = "1500ms"
idle_timeout = "2m"

[[service]]
name = "out.bound-1"
mode = "client"
listen = "*:9000"
target = "unix:/run/app.sock"
server_name = "app.internal"
)");
    Config want;
    want.source = "/etc/tlsward/tlsward.toml";
    want.global.helpers = 2;
    want.global.log_level = LogLevel::debug;
    want.global.handshake_queue_limit = 100;
    want.global.max_jobs_per_helper = 64;
    want.global.drain_ms = 5000;
    want.global.control_socket = "/run/tlsward/control.sock";
    want.global.user = "nobody";
    want.global.crypto_user = "nogroup-crypto";
    ServiceConfig web;
    web.name = "web";
    web.listen = {"127.0.0.1:8443", "[::1]:8443"};
    web.target = "backend.example:8080";
    web.certificates = {{"/etc/tlsward/certs/web.crt", "/secret/web.key"}};
    web.handshake_timeout_ms = 5000;
    web.connect_timeout_ms = 1500;
    web.idle_timeout_ms = 120000;
    web.line = 11;
    ServiceConfig out;
    out.name = "out.bound-1";
    out.mode = ipc::TlsRole::client;
    out.listen = {"*:9000"};
    out.target = "unix:/run/app.sock";
    out.tls.server_name = "app.internal";
    out.line = 21;
    want.services = {web, out};
    CHECK(c.global == want.global);
    REQUIRE(c.services.size() == 2);
    CHECK(c.services[0] == want.services[0]);
    CHECK(c.services[1] == want.services[1]);
    CHECK(c == want);
}

TEST_CASE("defaults apply when keys are left out", "[config]") {
    Config c = parse_ok(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
key = "/k.pem"
)");
    CHECK(c.global == GlobalConfig{});
    REQUIRE(c.services.size() == 1);
    const ServiceConfig& s = c.services[0];
    CHECK(s.mode == ipc::TlsRole::server);
    CHECK(s.handshake_timeout_ms == 10000);
    CHECK(s.connect_timeout_ms == 10000);
    CHECK(s.idle_timeout_ms == 0);
    CHECK(s.line == 1);
}

TEST_CASE("scheduling priorities: netproc ahead, helpers behind", "[config]") {
    // `global` lines (line 2 on) and one service.
    auto with_global = [](const std::string& lines) {
        return "[global]\n" + lines +
               "\n[[service]]\nname = \"web\"\nlisten = \"127.0.0.1:8443\"\n"
               "target = \"127.0.0.1:8080\"\ncert = \"/c.pem\"\n";
    };
    Config d = parse_ok(with_global("").c_str());
    CHECK(d.global.netproc_nice == -5);
    CHECK(d.global.helper_nice == 10);
    CHECK(d.global.netproc_realtime_priority == 0);
    Config c = parse_ok(
        with_global("netproc_nice = -12\nhelper_nice = 19\nnetproc_realtime_priority = 1").c_str());
    CHECK(c.global.netproc_nice == -12);
    CHECK(c.global.helper_nice == 19);
    CHECK(c.global.netproc_realtime_priority == 1);
    CHECK(parse_error(with_global("netproc_realtime_priority = 100").c_str()) ==
          "tlsward.toml:2: global: netproc_realtime_priority must be an integer from 0 to 99, got "
          "100");
    CHECK(parse_error(with_global("netproc_nice = 3").c_str()) ==
          "tlsward.toml:2: global: netproc_nice must be an integer from -20 to 0, got 3");
    CHECK(parse_error(with_global("netproc_nice = \"high\"").c_str()) ==
          "tlsward.toml:2: global: netproc_nice must be an integer from -20 to 0, got \"high\"");
}

TEST_CASE("certificates: shorthand, tables, combined file, relative paths", "[config]") {
    SECTION("[[service.certificate]] tables, relative to the file's directory") {
        Config c = parse_ok(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
[[service.certificate]]
cert = "rsa.crt"
key = "../keys/rsa.key"
[[service.certificate]]
cert = "/abs/ec.crt"
key = "/abs/ec.key"
)",
                            "conf/tlsward.toml");
        REQUIRE(c.services.size() == 1);
        CHECK(c.services[0].certificates ==
              std::vector<CertificateFiles>{{"conf/rsa.crt", "conf/../keys/rsa.key"},
                                            {"/abs/ec.crt", "/abs/ec.key"}});
    }
    SECTION("a bare file name keeps relative paths as they are") {
        Config c = parse_ok(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "web.pem"
)",
                            "tlsward.toml");
        // No key: the key is in the same file (hitch's combined pem-file).
        CHECK(c.services[0].certificates == std::vector<CertificateFiles>{{"web.pem", "web.pem"}});
    }
    SECTION("the explicit base directory wins") {
        auto c = parse_config(toml(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "web.crt"
key = "web.key"
)"),
                              "tlsward.toml", "/srv/conf");
        REQUIRE(c.ok());
        CHECK(c->services[0].certificates ==
              std::vector<CertificateFiles>{{"/srv/conf/web.crt", "/srv/conf/web.key"}});
    }
    SECTION("a client needs no certificate and may have one") {
        Config c = parse_ok(R"(
[[service]]
name = "out"
mode = "client"
listen = "127.0.0.1:9000"
target = "example.com:443"
cert = "/c.pem"
key = "/k.pem"
)");
        CHECK(c.services[0].certificates.size() == 1);
    }
}

TEST_CASE("durations: integer seconds or a number with a unit", "[config]") {
    CHECK(parse_duration_ms("500ms", false).value() == 500);
    CHECK(parse_duration_ms("10s", false).value() == 10000);
    CHECK(parse_duration_ms("2m", false).value() == 120000);
    CHECK(parse_duration_ms("1h", false).value() == 3600000);
    CHECK(parse_duration_ms("0s", false).value() == 0);
    CHECK(parse_duration_ms("10", true).value() == 10000);
    CHECK_FALSE(parse_duration_ms("10", false).ok());
    CHECK_FALSE(parse_duration_ms("", true).ok());
    CHECK_FALSE(parse_duration_ms("ten", true).ok());
    CHECK_FALSE(parse_duration_ms("1.5s", true).ok());
    CHECK_FALSE(parse_duration_ms("-1s", true).ok());
    CHECK_FALSE(parse_duration_ms("10 s", true).ok());
    CHECK_FALSE(parse_duration_ms("10S", true).ok());
    CHECK_FALSE(parse_duration_ms("10d", true).ok());
    // Huge values saturate instead of wrapping (and then fail range checks).
    CHECK(parse_duration_ms("99999999999999999999999h", false).value() > 100000000000ull);

    CHECK(format_duration_ms(0) == "0s");
    CHECK(format_duration_ms(100) == "100ms");
    CHECK(format_duration_ms(1500) == "1500ms");
    CHECK(format_duration_ms(10000) == "10s");
    CHECK(format_duration_ms(300000) == "5m");
    CHECK(format_duration_ms(7200000) == "2h");

    Config c = parse_ok(R"(
[global]
drain_time = 0
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
handshake_timeout = "100ms"
connect_timeout = 300
idle_timeout = 0
)");
    CHECK(c.global.drain_ms == 0);
    CHECK(c.services[0].handshake_timeout_ms == 100);
    CHECK(c.services[0].connect_timeout_ms == 300000);
    CHECK(c.services[0].idle_timeout_ms == 0);
}

TEST_CASE("bad values name the file, the line and the key", "[config]") {
    SECTION("a duration that is not one") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
key = "/k.pem"
handshake_timeout = "ten"
)") == "tlsward.toml:7: service \"web\": handshake_timeout must be a duration like \"10s\" or "
       "\"500ms\", got \"ten\"");
    }
    SECTION("durations of the wrong type or sign") {
        const char* head = R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)";
        CHECK(parse_config(toml(head) + "connect_timeout = -5\n", "t.toml").message() ==
              "t.toml:6: service \"web\": connect_timeout must be a duration like \"10s\" or "
              "\"500ms\", got -5");
        CHECK(parse_config(toml(head) + "connect_timeout = 1.5\n", "t.toml").message() ==
              "t.toml:6: service \"web\": connect_timeout must be a duration like \"10s\" or "
              "\"500ms\", got 1.5");
        CHECK(parse_config(toml(head) + "connect_timeout = \"10\"\n", "t.toml").message() ==
              "t.toml:6: service \"web\": connect_timeout must be a duration like \"10s\" or "
              "\"500ms\", got \"10\"");
    }
    SECTION("durations out of range") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
handshake_timeout = "10m"
)") == "tlsward.toml:6: service \"web\": handshake_timeout must be between 100ms and 5m, "
       "got \"10m\"");
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
handshake_timeout = "99ms"
)") == "tlsward.toml:6: service \"web\": handshake_timeout must be between 100ms and 5m, "
       "got \"99ms\"");
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
idle_timeout = "500ms"
)") == "tlsward.toml:6: service \"web\": idle_timeout must be 0 (none) or between 1s and "
       "168h, got \"500ms\"");
        CHECK(parse_error(R"(
[global]
drain_time = "2h"
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: global: drain_time must be 0 (none) or between 0s and 1h, got \"2h\"");
    }
    SECTION("global integers") {
        CHECK(parse_error(R"(
[global]
helpers = 2000
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: global: helpers must be an integer from 0 to 1024, got 2000");
        CHECK(parse_error(R"(
[global]

handshake_queue_limit = "lots"
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: global: handshake_queue_limit must be an integer from 1 to 1000000, "
       "got \"lots\"");
        CHECK(parse_error(R"(
[global]
max_jobs_per_helper = 0
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: global: max_jobs_per_helper must be an integer from 1 to 65536, got 0");
    }
    SECTION("global strings") {
        CHECK(parse_error(R"(
[global]
log_level = "verbose"
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: global: log_level must be \"debug\", \"info\", \"warn\" or \"error\", "
       "got \"verbose\"");
        CHECK(parse_error(R"(
[global]
control_socket = "run/control.sock"
user = "bad user"
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: global: control_socket must be an absolute path, got "
       "\"run/control.sock\"\n"
       "tlsward.toml:3: global: user must be a user name, got \"bad user\"");
    }
    SECTION("mode") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
mode = "proxy"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: service \"web\": mode must be \"server\" or \"client\", got \"proxy\"");
    }
    SECTION("names") {
        CHECK(parse_error(R"(
[[service]]
name = "web site"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: service #1: name \"web site\" must be 1 to 64 characters from a-z, "
       "A-Z, 0-9, '_', '.' and '-'");
        CHECK(parse_error(R"(
[[service]]
name = 7
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: service #1: name must be a string, got 7");
    }
    SECTION("listen") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "localhost:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: service \"web\": listen address \"localhost:8443\" must be numeric, "
       "like \"127.0.0.1:8443\", \"[::1]:8443\" or \"*:8443\" (names are not resolved for "
       "listening)");
        // Port 0: the kernel picks a free port (tests, ad-hoc runs), twice is fine.
        CHECK(parse_config(R"(
[[service]]
name = "web"
listen = ["127.0.0.1:0", "127.0.0.1:0"]
target = "127.0.0.1:8080"
cert = "/c.pem"
)",
                           "tlsward.toml")
                  .ok());
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = 8443
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: service \"web\": listen must be a string or an array of strings, "
       "got 8443");
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = []
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: service \"web\": listen is an empty array");
    }
    SECTION("target") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "backend"
cert = "/c.pem"
)") == "tlsward.toml:4: service \"web\": address \"backend\": expected HOST:PORT");
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "unix:run/app.sock"
cert = "/c.pem"
)") == "tlsward.toml:4: service \"web\": target \"unix:run/app.sock\": the unix socket path "
       "must be absolute, like \"unix:/run/app.sock\"");
    }
}

TEST_CASE("unknown keys are errors, with a suggestion", "[config]") {
    SECTION("a typo in [[service]]") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listne = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: unknown key \"listne\" in [[service]] (did you mean \"listen\"?)");
    }
    SECTION("a typo in [global]") {
        CHECK(parse_error(R"(
[global]
helper = 4
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: unknown key \"helper\" in [global] (did you mean \"helpers\"?)");
    }
    SECTION("a key in the wrong table") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
helpers = 4
)") == "tlsward.toml:6: unknown key \"helpers\" in [[service]] (helpers belongs in [global])");
    }
    SECTION("nothing close") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
ciphers = "HIGH"
)") == "tlsward.toml:6: unknown key \"ciphers\" in [[service]]");
    }
    SECTION("at the top level and in a certificate table") {
        CHECK(parse_error(R"(
servce = 1
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
[[service.certificate]]
cert = "/c.pem"
kye = "/k.pem"
)") == "tlsward.toml:1: unknown key \"servce\" at the top level (did you mean \"service\"?)\n"
       "tlsward.toml:8: unknown key \"kye\" in [[service.certificate]] (did you mean \"key\"?)");
    }
    SECTION("a case slip") {
        CHECK(parse_error(R"(
[[service]]
Name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:2: unknown key \"Name\" in [[service]] (did you mean \"name\"?)");
    }
}

TEST_CASE("missing keys are reported at the table's line", "[config]") {
    CHECK(parse_error(R"(
[global]
helpers = 1

[[service]]
name = "web"
listen = "127.0.0.1:8443"
cert = "/c.pem"
)") == "tlsward.toml:4: service \"web\": target is missing");
    CHECK(parse_error(R"(
[[service]]
name = "web"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:1: service \"web\": listen is missing");
    CHECK(parse_error(R"(
[[service]]
name = "a"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"

[[service]]
listen = "127.0.0.1:8444"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:7: service #2: name is missing");
    CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
)") == "tlsward.toml:1: service \"web\": a server needs a certificate: set cert and key, or "
       "add [[service.certificate]]");
    CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
key = "/k.pem"
)") == "tlsward.toml:5: service \"web\": key is set but cert is missing");
    CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"

[[service.certificate]]
key = "/k.pem"
)") == "tlsward.toml:7: service \"web\": certificate: key is set but cert is missing");
    CHECK(parse_error("[global]\nhelpers = 1\n") ==
          "tlsward.toml:1: no [[service]] is defined: there is nothing to do");
}

TEST_CASE("conflicts across services", "[config]") {
    SECTION("duplicate names") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"

[[service]]
name = "web"
listen = "127.0.0.1:8444"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:8: service name \"web\" is already used at line 2");
    }
    SECTION("the same listen address twice, however it is written") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "*:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"

[[service]]
name = "api"
listen = ["127.0.0.1:9443", "0.0.0.0:8443"]
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:9: service \"api\": listen address 0.0.0.0:8443 is already used by "
       "service \"web\" at line 3");
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = ["[::1]:8443", "[0:0::1]:8443"]
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: service \"web\": listen address [::1]:8443 is already used by "
       "service \"web\" at line 3");
    }
    SECTION("cert/key and [[service.certificate]] together") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
[[service.certificate]]
cert = "/d.pem"
)") == "tlsward.toml:6: service \"web\": use either cert/key or [[service.certificate]], not "
       "both");
    }
    SECTION("a client with two certificates") {
        CHECK(parse_error(R"(
[[service]]
name = "out"
mode = "client"
listen = "127.0.0.1:9000"
target = "example.com:443"
certificate = [ { cert = "/a.pem" }, { cert = "/b.pem" } ]
)") == "tlsward.toml:6: service \"out\": a client presents at most one certificate");
    }
}

TEST_CASE("structure and syntax errors", "[config]") {
    SECTION("[service] instead of [[service]]") {
        CHECK(parse_error(R"(
[service]
name = "web"
)") == "tlsward.toml:1: service must be an array of tables: write [[service]], not [service] "
       "or service = ...");
    }
    SECTION("global that is not a table") {
        std::string e = parse_error(R"(
global = 3
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)");
        CHECK(e == "tlsward.toml:1: global must be a table ([global]), got 3");
    }
    SECTION("a TOML syntax error carries toml++'s line") {
        std::string e = parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443
target = "127.0.0.1:8080"
)");
        CHECK(e.rfind("tlsward.toml:3: ", 0) == 0);
        CHECK(e.find('\n') == std::string::npos);
    }
    SECTION("a duplicate key is a TOML error") {
        std::string e = parse_error(R"(
[[service]]
name = "web"
name = "api"
)");
        CHECK(e.rfind("tlsward.toml:3: ", 0) == 0);
    }
    SECTION("several problems are all reported, in line order") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
idle_timeout = "forever"

[global]
helpers = -1
)") == "tlsward.toml:6: service \"web\": idle_timeout must be a duration like \"10s\" or "
       "\"500ms\", got \"forever\"\n"
       "tlsward.toml:9: global: helpers must be an integer from 0 to 1024, got -1");
    }
    SECTION("control characters in values are escaped in messages") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
mode = "serv\u001ber"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "tlsward.toml:3: service \"web\": mode must be \"server\" or \"client\", got "
       "\"serv\\x1ber\"");
    }
}

TEST_CASE("load_config_file reads a file and anchors relative paths", "[config]") {
    SECTION("a missing file") {
        auto c = load_config_file("/nonexistent/tlsward.toml");
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == "/nonexistent/tlsward.toml: cannot read: No such file or directory");
    }
    SECTION("relative cert paths become absolute, messages keep the name as given") {
        char tmpl[] = "/tmp/tlsward-cfg-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        std::string dir = tmpl;
        std::string path = dir + "/tlsward.toml";
        {
            std::ofstream f(path);
            f << "[[service]]\nname = \"web\"\nlisten = \"127.0.0.1:8443\"\n"
                 "target = \"127.0.0.1:8080\"\ncert = \"web.crt\"\nkey = \"keys/web.key\"\n";
        }
        auto c = load_config_file(path);
        REQUIRE(c.ok());
        CHECK(c->source == path);
        CHECK(c->services[0].certificates ==
              std::vector<CertificateFiles>{{dir + "/web.crt", dir + "/keys/web.key"}});

        // Relative to the current directory: the base is made absolute.
        char cwd[4096];
        REQUIRE(getcwd(cwd, sizeof cwd) != nullptr);
        REQUIRE(chdir(dir.c_str()) == 0);
        auto rel = load_config_file("tlsward.toml");
        REQUIRE(chdir(cwd) == 0);
        REQUIRE(rel.ok());
        CHECK(rel->source == "tlsward.toml");
        CHECK(rel->services[0].certificates[0].cert_path == dir + "/web.crt");

        {
            std::ofstream f(path);
            f << "[[service]]\nname = \"web\"\n";
        }
        auto bad = load_config_file(path);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.message() == path + ":1: service \"web\": listen is missing\n" + path +
                                   ":1: service \"web\": target is missing\n" + path +
                                   ":1: service \"web\": a server needs a certificate: set "
                                   "cert and key, or add [[service.certificate]]");
        std::filesystem::remove_all(dir);
    }
}

TEST_CASE("listen and target addresses", "[config]") {
    auto any = resolve_listen("*:8443");
    REQUIRE(any.ok());
    CHECK(any->to_string() == "0.0.0.0:8443");
    CHECK(resolve_listen("[::]:443")->to_string() == "[::]:443");
    CHECK(resolve_listen("127.0.0.1:1")->to_string() == "127.0.0.1:1");
    CHECK(resolve_listen("example.com:443").message() ==
          "listen address \"example.com:443\" must be numeric, like \"127.0.0.1:443\", "
          "\"[::1]:443\" or \"*:443\" (names are not resolved for listening)");
    CHECK(resolve_listen("unix:/run/x.sock").message() ==
          "listen address \"unix:/run/x.sock\": unix sockets are not supported for listening");
    CHECK(resolve_listen("127.0.0.1").message() ==
          "listen address \"127.0.0.1\": expected IP:PORT, [IPV6]:PORT or *:PORT");
    CHECK_FALSE(resolve_listen("127.0.0.1:65536").ok());

    CHECK(resolve_target("127.0.0.1:8080")->to_string() == "127.0.0.1:8080");
    CHECK(resolve_target("[::1]:8080")->to_string() == "[::1]:8080");
    CHECK(resolve_target("unix:/run/app.sock")->to_string() == "unix:/run/app.sock");
    auto local = resolve_target("localhost:8080");
    REQUIRE(local.ok());
    CHECK((local->to_string() == "127.0.0.1:8080" || local->to_string() == "[::1]:8080"));
    CHECK(resolve_target("127.0.0.1:0").message() ==
          "target \"127.0.0.1:0\": port 0 is not allowed");
    CHECK(resolve_target("unix:app.sock").message() ==
          "target \"unix:app.sock\": the unix socket path must be absolute, like "
          "\"unix:/run/app.sock\"");
}

TEST_CASE("value rules shared with the command line", "[config]") {
    CHECK(valid_service_name("web"));
    CHECK(valid_service_name("a.b-c_D9"));
    CHECK(valid_service_name(std::string(64, 'x')));
    CHECK_FALSE(valid_service_name(std::string(65, 'x')));
    CHECK_FALSE(valid_service_name(""));
    CHECK_FALSE(valid_service_name("a/b"));
    CHECK_FALSE(valid_service_name("caf\xc3\xa9"));
    CHECK(valid_user_name("tlsward-crypto"));
    CHECK_FALSE(valid_user_name("a:b"));
    CHECK_FALSE(valid_user_name(""));
    CHECK(check_target_syntax("backend.internal:80").ok());
    CHECK_FALSE(check_target_syntax("backend internal:80").ok());
    CHECK_FALSE(check_target_syntax("::1:80").ok());
}

TEST_CASE("the shipped examples parse", "[config]") {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(TLSWARD_SOURCE_DIR) / "examples";
    int seen = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".toml") continue;
        ++seen;
        auto c = load_config_file(entry.path().string());
        INFO((c.ok() ? std::string() : c.message()));
        CHECK(c.ok());
    }
    CHECK(seen >= 1);
}

TEST_CASE("[metrics] listen and log_connections", "[config]") {
    Config c = parse_ok(R"(
[metrics]
listen = "127.0.0.1:9100"

[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
key = "/k.pem"
log_connections = false
)");
    CHECK(c.metrics.listen == "127.0.0.1:9100");
    CHECK_FALSE(c.services[0].log_connections);
    Config d = parse_ok(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
key = "/k.pem"
)");
    CHECK(d.metrics.listen.empty());
    CHECK(d.services[0].log_connections);
    CHECK(parse_error(R"(
[metrics]
listen = "metrics.example:9100"
)")
              .find("tlsward.toml:2: metrics listen: address \"metrics.example:9100\": "
                    "\"metrics.example\" is not a numeric IP address") != std::string::npos);
    CHECK(parse_error(R"(
[metrics]
lisen = "127.0.0.1:9100"
)")
              .find("tlsward.toml:2: unknown key \"lisen\" in [metrics]") != std::string::npos);
}
