// "tlsward COMMAND [OPTIONS]": each command, both option spellings, and the
// one-line errors that main prints above the usage.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "supervisor/command_line.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

Result<Command> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tlsward");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(args.size()), argv.data());
}

Command parse_ok(std::vector<std::string> args) {
    auto c = parse(std::move(args));
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    return c.value();
}

std::string parse_error(std::vector<std::string> args) {
    auto c = parse(std::move(args));
    REQUIRE_FALSE(c.ok());
    return c.message();
}

std::string cwd() {
    char buf[4096];
    REQUIRE(getcwd(buf, sizeof buf) != nullptr);
    return buf;
}

}  // namespace

TEST_CASE("command line: run and check", "[config][command_line]") {
    Command run = parse_ok({"run"});
    CHECK(run.kind == CommandKind::run);
    CHECK(run.config_path == "/etc/tlsward/tlsward.toml");
    CHECK(run.control_path.empty());
    CHECK(run.foreground);

    run = parse_ok({"run", "--config", "/tmp/t.toml", "--control=/run/t.sock"});
    CHECK(run.config_path == "/tmp/t.toml");
    CHECK(run.control_path == "/run/t.sock");

    Command check = parse_ok({"check", "--config=conf/t.toml"});
    CHECK(check.kind == CommandKind::check);
    CHECK(check.config_path == "conf/t.toml");

    CHECK(parse_error({"check", "--control", "/x"}) ==
          "unknown option --control for 'tlsward check'");
    CHECK(parse_error({"run", "--config"}) == "option --config needs a value");
    CHECK(parse_error({"run", "--config="}) == "option --config needs a value");
    CHECK(parse_error({"run", "--config", "--control", "/x"}) == "option --config needs a value");
    CHECK(parse_error({"run", "--config", "a", "--config", "b"}) ==
          "option --config is given more than once");
    CHECK(parse_error({"run", "extra"}) == "unexpected argument \"extra\" for 'tlsward run'");
}

TEST_CASE("command line: server quick mode builds one service", "[config][command_line]") {
    Command c = parse_ok({"server",
                          "--listen",
                          "127.0.0.1:8443",
                          "--listen=[::1]:8443",
                          "--target",
                          "backend:8080",
                          "--cert",
                          "/etc/a.crt",
                          "--key",
                          "/etc/a.key",
                          "--cert=rsa.crt",
                          "--key=rsa.key",
                          "--helpers",
                          "3",
                          "--netproc-realtime-priority",
                          "1",
                          "--handshake-timeout",
                          "5",
                          "--connect-timeout=250ms",
                          "--idle-timeout",
                          "0",
                          "--name",
                          "front",
                          "--log-level",
                          "debug",
                          "--control",
                          "/run/x.sock"});
    CHECK(c.kind == CommandKind::server);
    CHECK(c.control_path == "/run/x.sock");
    CHECK(c.config.source == "command line");
    CHECK(c.config.global.helpers == 3);
    CHECK(c.config.global.netproc_realtime_priority == 1);
    CHECK(c.config.global.log_level == LogLevel::debug);
    REQUIRE(c.config.services.size() == 1);
    const ServiceConfig& s = c.config.services[0];
    CHECK(s.name == "front");
    CHECK(s.mode == ipc::TlsRole::server);
    CHECK(s.listen == std::vector<std::string>{"127.0.0.1:8443", "[::1]:8443"});
    CHECK(s.target == "backend:8080");
    CHECK(s.handshake_timeout_ms == 5000);
    CHECK(s.connect_timeout_ms == 250);
    CHECK(s.idle_timeout_ms == 0);
    // Relative files are anchored to the current directory now.
    CHECK(s.certificates ==
          std::vector<CertificateFiles>{{"/etc/a.crt", "/etc/a.key"},
                                        {cwd() + "/rsa.crt", cwd() + "/rsa.key"}});

    Command minimal = parse_ok(
        {"server", "--listen=*:443", "--target=unix:/run/app.sock", "--cert=/c", "--key=/k"});
    CHECK(minimal.config.services[0].name == "server");
    CHECK(minimal.config.services[0].handshake_timeout_ms == 10000);
    CHECK(minimal.config.global == GlobalConfig{});
    CHECK(minimal.config.services[0].tls.session_tickets);

    Command no_tickets = parse_ok({"server", "--listen=*:443", "--target=b:80", "--cert=/c",
                                   "--key=/k", "--no-session-tickets"});
    CHECK_FALSE(no_tickets.config.services[0].tls.session_tickets);
    CHECK(parse_error({"client", "--listen=127.0.0.1:9000", "--target=example.com:443",
                       "--no-session-tickets"}) ==
          "--no-session-tickets applies to server mode, this service is in client mode");
}

TEST_CASE("command line: client quick mode", "[config][command_line]") {
    Command c = parse_ok({"client", "--listen", "127.0.0.1:9000", "--target", "example.com:443"});
    CHECK(c.kind == CommandKind::client);
    REQUIRE(c.config.services.size() == 1);
    CHECK(c.config.services[0].mode == ipc::TlsRole::client);
    CHECK(c.config.services[0].name == "client");
    CHECK(c.config.services[0].certificates.empty());

    Command with_cert = parse_ok({"client", "--listen", "127.0.0.1:9000", "--target",
                                  "example.com:443", "--cert", "/c", "--key", "/k"});
    CHECK(with_cert.config.services[0].certificates.size() == 1);
    CHECK(parse_error({"client", "--listen", "127.0.0.1:9000", "--target", "example.com:443",
                       "--cert", "/c", "--key", "/k", "--cert", "/d", "--key", "/e"}) ==
          "'tlsward client' takes at most one --cert/--key pair");
}

TEST_CASE("command line: server errors name the flag", "[config][command_line]") {
    const std::vector<std::string> ok = {"server",   "--listen",       "127.0.0.1:8443",
                                         "--target", "127.0.0.1:8080", "--cert",
                                         "/c",       "--key",          "/k"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = ok;
        args.insert(args.end(), extra.begin(), extra.end());
        return parse_error(args);
    };
    CHECK(with({"--foo"}) == "unknown option --foo for 'tlsward server'");
    CHECK(with({"--foo=1"}) == "unknown option --foo for 'tlsward server'");
    CHECK(with({"-x"}) == "unknown option -x for 'tlsward server'");
    CHECK(with({"--helpers", "2000"}) ==
          "option --helpers must be a whole number from 0 to 1024, got \"2000\"");
    CHECK(with({"--helpers", "-1"}) ==
          "option --helpers must be a whole number from 0 to 1024, got \"-1\"");
    CHECK(with({"--helpers=two"}) ==
          "option --helpers must be a whole number from 0 to 1024, got \"two\"");
    CHECK(with({"--netproc-realtime-priority", "100"}) ==
          "option --netproc-realtime-priority must be a whole number from 0 to 99, got \"100\"");
    CHECK(with({"--handshake-timeout", "ten"}) ==
          "option --handshake-timeout must be a number of seconds or a duration like \"10s\" "
          "or \"500ms\", got \"ten\"");
    CHECK(with({"--handshake-timeout", "600"}) ==
          "option --handshake-timeout must be between 100ms and 5m, got \"600\"");
    CHECK(with({"--idle-timeout", "10ms"}) ==
          "option --idle-timeout must be 0 (none) or between 1s and 168h, got \"10ms\"");
    CHECK(with({"--name", "a b"}) ==
          "option --name must be 1 to 64 characters from a-z, A-Z, 0-9, '_', '.' and '-', got "
          "\"a b\"");
    CHECK(with({"--log-level", "loud"}) ==
          "option --log-level must be debug, info, warn or error, got \"loud\"");
    CHECK(with({"--listen", "localhost:1"}) ==
          "option --listen: listen address \"localhost:1\" must be numeric, like "
          "\"127.0.0.1:1\", \"[::1]:1\" or \"*:1\" (names are not resolved for listening)");
    CHECK(with({"--listen", "127.0.0.1:8443"}) ==
          "option --listen: address 127.0.0.1:8443 is given twice");
    CHECK(with({"--target", "x:1"}) == "option --target is given more than once");
    CHECK(with({"--cert", "/d"}) ==
          "options --cert and --key come in pairs (got 2 --cert and 1 --key)");
    CHECK(with({"--json"}) == "unknown option --json for 'tlsward server'");
    CHECK(with({"stray"}) == "unexpected argument \"stray\" for 'tlsward server'");

    CHECK(parse_error({"server", "--target", "127.0.0.1:8080", "--cert", "/c", "--key", "/k"}) ==
          "'tlsward server' needs --listen ADDR:PORT");
    CHECK(parse_error({"server", "--listen", "127.0.0.1:8443", "--cert", "/c", "--key", "/k"}) ==
          "'tlsward server' needs --target HOST:PORT");
    CHECK(parse_error({"server", "--listen", "127.0.0.1:8443", "--target", "127.0.0.1:8080"}) ==
          "'tlsward server' needs --cert FILE and --key FILE");
    CHECK(parse_error({"server", "--listen", "127.0.0.1:8443", "--target", "backend", "--cert",
                       "/c", "--key", "/k"}) ==
          "option --target: address \"backend\": expected HOST:PORT");
}

TEST_CASE("command line: status, reload, selftest, version, help", "[config][command_line]") {
    Command status = parse_ok({"status"});
    CHECK(status.kind == CommandKind::status);
    CHECK_FALSE(status.json);
    status = parse_ok({"status", "--json", "--control", "/run/c.sock"});
    CHECK(status.json);
    CHECK(status.control_path == "/run/c.sock");
    CHECK(parse_error({"status", "--json=yes"}) == "option --json takes no value");

    Command reload = parse_ok({"reload", "--control=/run/c.sock"});
    CHECK(reload.kind == CommandKind::reload);
    CHECK(reload.control_path == "/run/c.sock");
    CHECK(parse_error({"reload", "--json"}) == "unknown option --json for 'tlsward reload'");

    Command selftest = parse_ok({"selftest", "sandbox"});
    CHECK(selftest.kind == CommandKind::selftest);
    CHECK(selftest.selftest_what == "sandbox");
    CHECK(parse_error({"selftest"}) == "'tlsward selftest' needs what to test (sandbox)");
    CHECK(parse_error({"selftest", "network"}) == "unknown selftest \"network\" (known: sandbox)");
    CHECK(parse_error({"selftest", "sandbox", "x"}) ==
          "unexpected argument \"x\" for 'tlsward selftest'");

    CHECK(parse_ok({"version"}).kind == CommandKind::version);
    CHECK(parse_ok({"--version"}).kind == CommandKind::version);
    CHECK(parse_ok({"help"}).kind == CommandKind::help);
    CHECK(parse_ok({"--help"}).kind == CommandKind::help);
    CHECK(parse_ok({"-h"}).kind == CommandKind::help);
    CHECK(parse_ok({"server", "--help"}).kind == CommandKind::help);
    CHECK(parse_ok({"run", "-h"}).kind == CommandKind::help);

    CHECK(parse_error({}) == "no command given");
    CHECK(parse_error({"start"}) == "unknown command \"start\"");
    CHECK(parse_error({"--config", "x"}) ==
          "unknown option --config (options come after the command, as in 'tlsward run "
          "--config FILE')");

    std::string usage = usage_text();
    for (const char* word : {"run", "check", "server", "client", "status", "reload",
                             "selftest sandbox", "version", "--handshake-timeout"})
        CHECK(usage.find(word) != std::string::npos);
}

TEST_CASE("command line: quick mode drain time", "[config][command_line]") {
    Command c = parse_ok({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert",
                          "c.pem", "--key", "k.pem", "--drain-time", "5s"});
    CHECK(c.config.global.drain_ms == 5000);
    c = parse_ok({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert", "c.pem",
                  "--key", "k.pem", "--drain-time=0"});
    CHECK(c.config.global.drain_ms == 0);
    c = parse_ok({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert", "c.pem",
                  "--key", "k.pem"});
    CHECK(c.config.global.drain_ms == 30000);
    CHECK(parse_error({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert",
                       "c.pem", "--key", "k.pem", "--drain-time", "2h"})
              .find("--drain-time") != std::string::npos);
}

TEST_CASE("command line: --metrics on the quick modes", "[config][command_line]") {
    Command c = parse_ok({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert",
                          "c.pem", "--key", "k.pem", "--metrics", "127.0.0.1:9100"});
    CHECK(c.config.metrics.listen == "127.0.0.1:9100");
    c = parse_ok({"client", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--metrics",
                  "unix:/run/tlsward/metrics.sock"});
    CHECK(c.config.metrics.listen == "unix:/run/tlsward/metrics.sock");
    c = parse_ok({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert", "c.pem",
                  "--key", "k.pem"});
    CHECK(c.config.metrics.listen.empty());
    CHECK(parse_error({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert",
                       "c.pem", "--key", "k.pem", "--metrics", "localhost:9100"})
              .find("option --metrics") != std::string::npos);
    CHECK(parse_error({"server", "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cert",
                       "c.pem", "--key", "k.pem", "--metrics", "unix:relative.sock"})
              .find("must be absolute") != std::string::npos);
}

TEST_CASE("command line: check --print, run --log-level", "[config][command_line]") {
    Command check = parse_ok({"check", "--config", "t.toml", "--print"});
    CHECK(check.print);
    CHECK_FALSE(parse_ok({"check"}).print);
    CHECK(parse_error({"check", "--print=yes"}) == "option --print takes no value");
    CHECK(parse_error({"run", "--print"}) == "unknown option --print for 'tlsward run'");

    Command run = parse_ok({"run", "--log-level", "debug"});
    REQUIRE(run.log_level.has_value());
    CHECK(*run.log_level == LogLevel::debug);
    CHECK_FALSE(parse_ok({"run"}).log_level.has_value());
    CHECK(parse_error({"run", "--log-level=loud"}) ==
          "option --log-level must be debug, info, warn or error, got \"loud\"");
}

TEST_CASE("command line: --cert alone is a combined PEM, as cert alone in the file",
          "[config][command_line]") {
    Command c = parse_ok(
        {"server", "--listen=127.0.0.1:8443", "--target=127.0.0.1:8080", "--cert=/etc/web.pem"});
    CHECK(c.config.services[0].certificates ==
          std::vector<CertificateFiles>{{"/etc/web.pem", "/etc/web.pem"}});
    Command two = parse_ok({"server", "--listen=127.0.0.1:8443", "--target=127.0.0.1:8080",
                            "--cert=/etc/ec.pem", "--cert=/etc/rsa.pem"});
    CHECK(two.config.services[0].certificates ==
          std::vector<CertificateFiles>{{"/etc/ec.pem", "/etc/ec.pem"},
                                        {"/etc/rsa.pem", "/etc/rsa.pem"}});
    Command client = parse_ok({"client", "--listen=127.0.0.1:9000", "--target=example.com:443",
                               "--client-cert=/etc/client.pem"});
    CHECK(client.config.services[0].certificates ==
          std::vector<CertificateFiles>{{"/etc/client.pem", "/etc/client.pem"}});
    // Once a --key is given, every --cert needs its own.
    CHECK(parse_error({"server", "--listen=127.0.0.1:8443", "--target=127.0.0.1:8080", "--cert=/a",
                       "--key=/a.key", "--cert=/b"}) ==
          "options --cert and --key come in pairs (got 2 --cert and 1 --key)");
    CHECK(parse_error(
              {"server", "--listen=127.0.0.1:8443", "--target=127.0.0.1:8080", "--key=/a.key"}) ==
          "options --cert and --key come in pairs (got 0 --cert and 1 --key)");
}
