// The TLS options in tlsward.toml and on the command line: what each
// becomes, their defaults, and the errors (with the line) for bad values,
// options of the other mode and options that need another.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "supervisor/command_line.hpp"
#include "supervisor/config.hpp"
#include "supervisor/prepared_config.hpp"
#include "supervisor/ticket_keys.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

std::string toml(const char* text) {
    std::string s = text;
    if (!s.empty() && s[0] == '\n') s.erase(0, 1);
    return s;
}

Config parse_ok(const char* text) {
    auto c = parse_config(toml(text), "/etc/tlsward/tlsward.toml");
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    return c.value();
}

std::string parse_error(const char* text) {
    auto c = parse_config(toml(text), "t.toml");
    REQUIRE_FALSE(c.ok());
    return c.message();
}

Result<Command> run(std::vector<std::string> args) {
    std::vector<char*> argv;
    static std::string prog = "tlsward";
    argv.push_back(prog.data());
    for (std::string& a : args) argv.push_back(a.data());
    return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

const std::string kPin = std::string(64, 'a');

}  // namespace

TEST_CASE("TLS options: a server with mTLS, SNI certificates, ALPN, PROXY", "[config][tls]") {
    Config c = parse_ok(R"(
[global]
ticket_key_file = "keys/tickets.key"
ticket_key_rotation = "30m"
session_lifetime = "1h"

[[service]]
name = "api"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
client_ca = "clients-ca.pem"
allow_cn = ["alice", "bob"]
allow_dns = "*.Clients.Example"
allow_uri = ["spiffe://example.org/ns/prod/*"]
allow_spki = ["sha256//qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo="]
crl = ["ca.crl"]
alpn = ["h2", "http/1.1"]
proxy_protocol = "v2"
accept_proxy = true
unknown_sni = "refuse"
session_tickets = false
[[service.certificate]]
cert = "a.crt"
key = "a.key"
names = ["a.example", "*.a.example"]
ocsp = "a.ocsp"
[[service.certificate]]
cert = "b.crt"
)");
    CHECK(c.global.ticket_key_file == "/etc/tlsward/keys/tickets.key");
    CHECK(c.global.ticket_key_rotation_ms == 30 * 60 * 1000);
    CHECK(c.global.session_lifetime_ms == 3600 * 1000);
    const TlsConfig& t = c.services[0].tls;
    CHECK(t.client_ca == "/etc/tlsward/clients-ca.pem");
    CHECK(t.verify_client == ipc::VerifyPeer::require);  // the default with client_ca
    CHECK(t.allow_cn == std::vector<std::string>{"alice", "bob"});
    CHECK(t.allow_dns == std::vector<std::string>{"*.clients.example"});
    CHECK(t.allow_uri == std::vector<std::string>{"spiffe://example.org/ns/prod/*"});
    REQUIRE(t.allow_spki.size() == 1);
    CHECK(t.allow_spki[0] == std::string(62, 'a') + "aa");
    CHECK(t.crl == std::vector<std::string>{"/etc/tlsward/ca.crl"});
    CHECK(t.alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(t.proxy_protocol == ipc::ProxyVersion::v2);
    CHECK(t.accept_proxy);
    CHECK(t.unknown_sni == ipc::UnknownSni::refuse);
    CHECK_FALSE(t.session_tickets);
    const auto& certs = c.services[0].certificates;
    REQUIRE(certs.size() == 2);
    CHECK(certs[0].names == std::vector<std::string>{"a.example", "*.a.example"});
    CHECK(certs[0].ocsp_path == "/etc/tlsward/a.ocsp");
    CHECK(certs[1].key_path == "/etc/tlsward/b.crt");
}

TEST_CASE("TLS options: a client with pins and names", "[config][tls]") {
    Config c = parse_ok(R"(
[[service]]
name = "out"
mode = "client"
listen = "127.0.0.1:2525"
target = "Mail.Example.net:465"
ca = "/etc/ssl/certs"
pin_spki = ["AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA"]
alpn = "smtp"
cert = "client.pem"

[[service]]
name = "by-ip"
mode = "client"
listen = "127.0.0.1:2526"
target = "192.0.2.10:443"

[[service]]
name = "unix"
mode = "client"
listen = "127.0.0.1:2527"
target = "unix:/run/stunnel.sock"
verify_name = "backend.internal"
)");
    const ServiceConfig& out = c.services[0];
    CHECK(out.tls.ca == "/etc/ssl/certs");
    CHECK(out.tls.pin_spki == std::vector<std::string>{kPin});
    auto names = client_names(out);
    REQUIRE(names.ok());
    CHECK(names->server_name == "mail.example.net");
    CHECK(names->verify_name == "mail.example.net");
    auto ip = client_names(c.services[1]);
    REQUIRE(ip.ok());
    CHECK(ip->server_name.empty());  // no SNI for an address
    CHECK(ip->verify_name == "192.0.2.10");
    auto unix_names = client_names(c.services[2]);
    REQUIRE(unix_names.ok());
    CHECK(unix_names->server_name.empty());
    CHECK(unix_names->verify_name == "backend.internal");
}

TEST_CASE("TLS options: errors name the line and the fix", "[config][tls]") {
    CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:1"
target = "127.0.0.1:2"
cert = "a.crt"
verify_client = "sometimes"
allow_spki = ["xyz"]
alpn = ["h2", ""]
proxy_protocol = "v3"
)") == "t.toml:6: service \"web\": verify_client must be \"require\", \"optional\" or \"none\", "
       "got \"sometimes\"\n"
       "t.toml:7: service \"web\": allow_spki: \"xyz\" is not a SHA-256 pin (64 hex digits, or "
       "base64 like \"sha256//...=\"; compute it with: openssl x509 -in CERT -pubkey -noout | "
       "openssl pkey -pubin -outform der | openssl dgst -sha256)\n"
       "t.toml:8: service \"web\": alpn: an ALPN protocol has 1 to 255 characters, got \"\"\n"
       "t.toml:9: service \"web\": proxy_protocol must be \"v1\", \"v2\" or \"none\", got \"v3\"");

    // Options of the other mode, and options that need client_ca, at the
    // line of the option's value.
    std::string e = parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:1"
target = "127.0.0.1:2"
cert = "a.crt"
ca = "ca.pem"
allow_cn = ["alice"]
)");
    CHECK(e ==
          "t.toml:6: service \"web\": ca applies to client mode, this service is in server mode "
          "(did you mean client_ca?)\n"
          "t.toml:7: service \"web\": allow_cn needs client_ca (the CA that issues client "
          "certificates)");
    CHECK(parse_error(R"(
[[service]]
name = "out"
mode = "client"
listen = "127.0.0.1:1"
target = "unix:/run/x.sock"
client_ca = "ca.pem"
proxy_protocol = "v1"
)") == "t.toml:5: service \"out\": a unix: target has no host name to verify: set server_name or "
       "verify_name\n"
       "t.toml:6: service \"out\": client_ca applies to server mode, this service is in client "
       "mode (did you mean ca?)\n"
       "t.toml:7: service \"out\": proxy_protocol applies to server mode, this service is in "
       "client mode");
    CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:1"
target = "127.0.0.1:2"
[[service.certificate]]
cert = "a.crt"
names = ["bad name"]
)") == "t.toml:7: service \"web\": certificate: names: \"bad name\" is not a host name");
    CHECK(parse_error(R"(
[global]
session_lifetime = "10s"
[[service]]
name = "web"
listen = "127.0.0.1:1"
target = "127.0.0.1:2"
cert = "a.crt"
)") == "t.toml:2: global: session_lifetime must be between 1m and 168h, got \"10s\"");
}

TEST_CASE("TLS options: pins in every accepted spelling", "[config][tls]") {
    CHECK(parse_spki_pin(kPin).value() == kPin);
    CHECK(parse_spki_pin(std::string(64, 'A')).value() == kPin);
    // base64 of 32 bytes of 0xaa, with and without curl's prefix
    CHECK(parse_spki_pin("qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=").value() == kPin);
    CHECK(parse_spki_pin("sha256//qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=").value() == kPin);
    CHECK_FALSE(parse_spki_pin(std::string(63, 'a')).ok());
    CHECK(parse_dns_pattern("*.Example.COM.").value() == "*.example.com");
    CHECK_FALSE(parse_dns_pattern("a.*.example").ok());
    CHECK(parse_alpn_list("h2,http/1.1").value() == std::vector<std::string>{"h2", "http/1.1"});
    CHECK_FALSE(parse_alpn_list("h2,,x").ok());
}

TEST_CASE("TLS options on the command line (ghostunnel's names)", "[config][tls][cli]") {
    auto s = run({"server",
                  "--listen",
                  "127.0.0.1:1",
                  "--target",
                  "127.0.0.1:2",
                  "--cert",
                  "c",
                  "--key",
                  "k",
                  "--client-ca",
                  "/ca.pem",
                  "--allow-cn",
                  "alice",
                  "--allow-cn",
                  "bob",
                  "--allow-uri",
                  "spiffe://x/y",
                  "--allow-dns",
                  "*.a.example",
                  "--allow-spki",
                  kPin,
                  "--alpn",
                  "h2,http/1.1",
                  "--proxy-protocol",
                  "v2",
                  "--accept-proxy",
                  "--verify-client",
                  "optional",
                  "--crl",
                  "/c.crl",
                  "--ticket-key-file",
                  "/keys",
                  "--unknown-sni",
                  "refuse"});
    INFO((s.ok() ? std::string() : s.message()));
    REQUIRE(s.ok());
    const TlsConfig& t = s->config.services[0].tls;
    CHECK(t.client_ca == "/ca.pem");
    CHECK(t.verify_client == ipc::VerifyPeer::optional);
    CHECK(t.allow_cn == std::vector<std::string>{"alice", "bob"});
    CHECK(t.allow_uri == std::vector<std::string>{"spiffe://x/y"});
    CHECK(t.allow_dns == std::vector<std::string>{"*.a.example"});
    CHECK(t.allow_spki == std::vector<std::string>{kPin});
    CHECK(t.alpn == std::vector<std::string>{"h2", "http/1.1"});
    CHECK(t.proxy_protocol == ipc::ProxyVersion::v2);
    CHECK(t.accept_proxy);
    CHECK(t.crl == std::vector<std::string>{"/c.crl"});
    CHECK(t.unknown_sni == ipc::UnknownSni::refuse);
    CHECK(s->config.global.ticket_key_file == "/keys");

    auto c = run({"client", "--listen", "127.0.0.1:1", "--target", "backend.example:443", "--ca",
                  "/ca.pem", "--server-name", "sni.example", "--pin-spki", kPin, "--client-cert",
                  "/c.pem", "--client-key", "/c.key", "--alpn", "h2"});
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    const ServiceConfig& out = c->config.services[0];
    CHECK(out.tls.ca == "/ca.pem");
    CHECK(out.tls.server_name == "sni.example");
    CHECK(out.tls.pin_spki == std::vector<std::string>{kPin});
    REQUIRE(out.certificates.size() == 1);
    CHECK(out.certificates[0].cert_path == "/c.pem");
    CHECK(out.certificates[0].key_path == "/c.key");

    // Flags of the other mode say which one they belong to.
    auto wrong = run({"server", "--listen", "127.0.0.1:1", "--target", "127.0.0.1:2", "--cert", "c",
                      "--key", "k", "--ca", "/ca.pem"});
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.message() ==
          "--ca applies to client mode, this service is in server mode (did you mean "
          "--client-ca?)");
    auto needs = run({"server", "--listen", "127.0.0.1:1", "--target", "127.0.0.1:2", "--cert", "c",
                      "--key", "k", "--allow-cn", "alice"});
    REQUIRE_FALSE(needs.ok());
    CHECK(needs.message() ==
          "--allow-cn needs --client-ca (the CA that issues client certificates)");
    auto client_cert = run({"server", "--listen", "127.0.0.1:1", "--target", "127.0.0.1:2",
                            "--cert", "c", "--key", "k", "--client-cert", "x"});
    REQUIRE_FALSE(client_cert.ok());
    CHECK(client_cert.message().find("is for 'tlsward client'") != std::string::npos);
    auto bad_pin =
        run({"client", "--listen", "127.0.0.1:1", "--target", "b.example:1", "--pin-spki", "nope"});
    REQUIRE_FALSE(bad_pin.ok());
    CHECK(bad_pin.message().rfind("option --pin-spki: \"nope\" is not a SHA-256 pin", 0) == 0);
}

TEST_CASE("ticket key files: base64 lines, the second-to-last seals", "[config][tls]") {
    std::string k80 =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1"
        "Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8=";
    std::string k48 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v";
    auto one = parse_ticket_key_file(k80 + "\n", "f");
    REQUIRE(one.ok());
    CHECK(one->keys.size() == 1);
    CHECK(one->keys[0].size() == 80);
    CHECK(one->encrypt_index == 0);
    auto three =
        parse_ticket_key_file("# rotated by vault\n" + k80 + "\n\n" + k48 + "\r\n" + k80, "f");
    REQUIRE(three.ok());
    CHECK(three->keys.size() == 3);
    CHECK(three->keys[1].size() == 48);
    CHECK(three->encrypt_index == 1);
    auto bad = parse_ticket_key_file(k80 + "\nnot base64!\n", "/etc/tlsward/tickets.key");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().rfind("/etc/tlsward/tickets.key:2: not a ticket key", 0) == 0);
    CHECK_FALSE(parse_ticket_key_file("\n# nothing\n", "f").ok());
    CHECK_FALSE(parse_ticket_key_file("AAAA\n", "f").ok());  // 3 bytes
}
