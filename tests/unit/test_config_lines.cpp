// Every configuration error names the line of the value that is wrong, not
// the line of the table it stands in: one case per kind of value (string,
// integer with a range, boolean, duration, size, choice, array element,
// address, table, a file that does not exist), each value a few lines below
// its table header, and the TOML syntax hint for an unquoted address.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "supervisor/config.hpp"
#include "supervisor/config_check.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

// Raw strings start with a newline for readability; line 1 is the line after it.
std::string parse_error(const char* text) {
    std::string s = text;
    if (!s.empty() && s[0] == '\n') s.erase(0, 1);
    auto c = parse_config(s, "t.toml", "/etc/tlsward");
    REQUIRE_FALSE(c.ok());
    CHECK(c.kind() == ErrorKind::config);
    return c.message();
}

// A service whose table starts at line 1 and ends at line 5; the value
// under test follows at line 6 or later.
constexpr const char* kHead = R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)";

std::string with_head(const std::string& tail) {
    return std::string(kHead) + tail;
}

struct TempDir {
    std::string path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl =
            std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/tlsward-lines-XXXXXX";
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

// A self-signed P-256 certificate and its key, in two files.
void write_pair(const std::string& cert_path, const std::string& key_path) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    REQUIRE(key != nullptr);
    X509* x = X509_new();
    REQUIRE(x != nullptr);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("web.test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
    BIO* c = BIO_new_file(cert_path.c_str(), "w");
    REQUIRE(PEM_write_bio_X509(c, x) == 1);
    BIO_free(c);
    BIO* k = BIO_new_file(key_path.c_str(), "w");
    REQUIRE(PEM_write_bio_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    BIO_free(k);
    REQUIRE(chmod(key_path.c_str(), 0600) == 0);
    X509_free(x);
    EVP_PKEY_free(key);
}

// Writes `text` as DIR/tlsward.toml, loads it and returns what check_config
// says about it.
std::string check_error(const TempDir& dir, const std::string& text) {
    std::string path = dir.file("tlsward.toml");
    {
        std::ofstream f(path);
        f << (text[0] == '\n' ? text.substr(1) : text);
    }
    auto c = load_config_file(path);
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    Status s = check_config(c.value());
    REQUIRE_FALSE(s.ok());
    CHECK(s.kind() == ErrorKind::config);
    return s.message();
}

}  // namespace

TEST_CASE("config errors are at the value's line: one kind of value each", "[config][lines]") {
    SECTION("string") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"

target = 8080
cert = "/c.pem"
)") == "t.toml:5: service \"web\": target must be a string, got 8080");
    }
    SECTION("integer with a range") {
        CHECK(parse_error(
                  (with_head("[global]\n# comment\n\nmax_jobs_per_helper = 70000\n")).c_str()) ==
              "t.toml:9: global: max_jobs_per_helper must be an integer from 1 to 65536, got "
              "70000");
        CHECK(parse_error(with_head("max_connections_per_source = -1\n").c_str()) ==
              "t.toml:6: service \"web\": max_connections_per_source must be an integer from 0 "
              "to 10000000, got -1");
    }
    SECTION("boolean") {
        CHECK(parse_error(with_head("\n\nlog_connections = \"no\"\n").c_str()) ==
              "t.toml:8: service \"web\": log_connections must be true or false, got \"no\"");
    }
    SECTION("duration") {
        CHECK(parse_error(with_head("idle_timeout = \"1d\"\n").c_str()) ==
              "t.toml:6: service \"web\": idle_timeout must be a duration like \"10s\" or "
              "\"500ms\", got \"1d\"");
    }
    SECTION("size") {
        CHECK(parse_error(with_head("\nconnection_read_rate = \"fast\"\n").c_str()) ==
              "t.toml:7: service \"web\": connection_read_rate must be a size like \"64KiB\" or "
              "\"10MB\", got \"fast\"");
        CHECK(parse_error(with_head("record_size = 100\n").c_str()) ==
              "t.toml:6: service \"web\": record_size (or \"dynamic\") must be 0 (none) or from "
              "512 to 16384 bytes, got 100");
    }
    SECTION("choice") {
        CHECK(parse_error(with_head("\nunknown_sni = \"drop\"\n").c_str()) ==
              "t.toml:7: service \"web\": unknown_sni must be \"default\" or \"refuse\", got "
              "\"drop\"");
    }
    SECTION("array: the element's own line") {
        CHECK(parse_error(with_head("alpn = [\n  \"h2\",\n  \"\",\n]\n").c_str()) ==
              "t.toml:8: service \"web\": alpn: an ALPN protocol has 1 to 255 characters, got "
              "\"\"");
        CHECK(parse_error(with_head("client_ca = \"ca.pem\"\nallow_dns = [\n  \"a.example\",\n"
                                    "  \"bad name\",\n]\n")
                              .c_str()) ==
              "t.toml:9: service \"web\": allow_dns: \"bad name\" is not a host name");
        CHECK(parse_error(with_head("alpn = [\n  \"h2\",\n  2,\n]\n").c_str()) ==
              "t.toml:8: service \"web\": alpn must be a string, got 2");
    }
    SECTION("address: a listen element and a target") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = [
  "127.0.0.1:8443",
  "localhost:8444",
]
target = "127.0.0.1:8080"
cert = "/c.pem"
)") == "t.toml:5: service \"web\": listen address \"localhost:8444\" must be numeric, like "
       "\"127.0.0.1:8444\", \"[::1]:8444\" or \"*:8444\" (names are not resolved for "
       "listening)");
        CHECK(parse_error(R"(
[metrics]

listen = "metrics.example:9100"
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "/c.pem"
)")
                  .rfind("t.toml:3: metrics listen: ", 0) == 0);
    }
    SECTION("table") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
certificate = [
  { cert = "/a.pem" },
  "/b.pem",
]
)") == "t.toml:7: service \"web\": certificate must be a table with cert and key "
       "([[service.certificate]]), got \"/b.pem\"");
    }
    SECTION("an option of the other mode, and an option that needs another") {
        CHECK(parse_error(with_head("\n\npin_spki = \"" + std::string(64, 'a') + "\"\n").c_str()) ==
              "t.toml:8: service \"web\": pin_spki applies to client mode, this service is in "
              "server mode (did you mean allow_spki?)");
        CHECK(parse_error(with_head("\nverify_client = \"optional\"\n").c_str()) ==
              "t.toml:7: service \"web\": verify_client needs client_ca (the CA that issues "
              "client certificates)");
    }
    SECTION("in [[service.certificate]]") {
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
[[service.certificate]]
cert = "/a.pem"

key = ""
)") == "t.toml:8: service \"web\": certificate: key is an empty path");
        CHECK(parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
[[service.certificate]]

ocsp = "a.ocsp"
)") == "t.toml:7: service \"web\": certificate: ocsp is set but cert is missing");
    }
}

TEST_CASE("check: a file that does not exist is named at its key's line", "[config][lines]") {
    TempDir dir;
    write_pair(dir.file("web.crt"), dir.file("web.key"));
    SECTION("cert and key of [[service.certificate]]") {
        std::string text = R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"

[[service.certificate]]
cert = "web.crt"
key = "web.key"

[[service.certificate]]
cert = "web.crt"
key = "missing.key"
)";
        CHECK(check_error(dir, text) == dir.file("tlsward.toml") +
                                            ":12: service \"web\": " + dir.file("missing.key") +
                                            ": cannot read: No such file or directory");
        text = R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
[[service.certificate]]
key = "web.key"

cert = "missing.crt"
)";
        CHECK(check_error(dir, text) == dir.file("tlsward.toml") +
                                            ":8: service \"web\": " + dir.file("missing.crt") +
                                            ": cannot read: No such file or directory");
    }
    SECTION("ocsp, client_ca, a crl among several, ticket_key_file") {
        std::string text = R"(
[global]
helpers = 1
ticket_key_file = "missing.tickets"

[[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "web.crt"
key = "web.key"
ocsp = "missing.ocsp"
client_ca = "missing-ca.pem"
crl = [
  "web.crt",
  "missing.crl",
]
)";
        std::string toml = dir.file("tlsward.toml");
        std::string e = check_error(dir, text);
        CHECK(e.find(toml + ":11: service \"web\": " + dir.file("missing.ocsp") +
                     ": cannot read") != std::string::npos);
        CHECK(e.find(toml + ":12: service \"web\": client_ca: " + dir.file("missing-ca.pem") +
                     ": cannot read") != std::string::npos);
        CHECK(e.find(toml + ":15: service \"web\": crl: " + dir.file("missing.crl") +
                     ": cannot read") != std::string::npos);
        CHECK(e.find(toml + ":3: " + dir.file("missing.tickets")) != std::string::npos);
    }
    SECTION("a target that does not resolve") {
        std::string text = R"(
[[service]]
name = "web"
listen = "127.0.0.1:8443"
cert = "web.crt"

target = "nonexistent.invalid:80"
key = "web.key"
)";
        std::string e = check_error(dir, text);
        INFO(e);
        CHECK(e.rfind(dir.file("tlsward.toml") + ":6: service \"web\": ", 0) == 0);
    }
}

TEST_CASE("an unquoted address or path gets a hint", "[config][lines]") {
    std::string e = parse_error(R"(
[[service]]
name = "web"
listen = "127.0.0.1:0"
target = 127.0.0.1:31080
)");
    CHECK(e.rfind("t.toml:4: ", 0) == 0);
    CHECK(e.find("(a string needs double quotes: target = \"127.0.0.1:31080\")") !=
          std::string::npos);
    CHECK(parse_error("[[service]]\ncert = /etc/tlsward/web.pem  # combined\n")
              .find("(a string needs double quotes: cert = \"/etc/tlsward/web.pem\")") !=
          std::string::npos);
    CHECK(parse_error("[[service]]\nlisten = [::1]:443\n")
              .find("(a string needs double quotes: listen = \"[::1]:443\")") != std::string::npos);
    CHECK(parse_error("[[service]]\nname = web\n")
              .find("(a string needs double quotes: name = \"web\")") != std::string::npos);
    // Not for what TOML would take: a broken array, a number.
    CHECK(parse_error("[[service]]\nlisten = [\"a\",,]\n").find("double quotes") ==
          std::string::npos);
    CHECK(parse_error("[global]\nhelpers = 1 2\n").find("double quotes") == std::string::npos);
    CHECK(parse_error("[[service]]\nidle_timeout = 10s\n")
              .find("(a string needs double quotes: idle_timeout = \"10s\")") != std::string::npos);
}
