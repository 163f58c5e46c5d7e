// "credential:NAME" file names: systemd credentials from
// $CREDENTIALS_DIRECTORY, in the file and on the command line.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "supervisor/config.hpp"
#include "supervisor/credentials.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

const char* const kConfig = R"([[service]]
name = "web"
listen = "127.0.0.1:8443"
target = "127.0.0.1:8080"
cert = "credential:web.crt"
key = "credential:web.key"
client_ca = "credential:clients.pem"
)";

// Sets CREDENTIALS_DIRECTORY for one scope, as systemd would.
struct CredentialsDirectory {
    explicit CredentialsDirectory(const char* dir) {
        if (dir != nullptr)
            setenv("CREDENTIALS_DIRECTORY", dir, 1);
        else
            unsetenv("CREDENTIALS_DIRECTORY");
    }
    ~CredentialsDirectory() { unsetenv("CREDENTIALS_DIRECTORY"); }
    CredentialsDirectory(const CredentialsDirectory&) = delete;
    CredentialsDirectory& operator=(const CredentialsDirectory&) = delete;
};

}  // namespace

TEST_CASE("credential: names become files in $CREDENTIALS_DIRECTORY") {
    CredentialsDirectory env("/run/credentials/tlsward.service");
    auto c = parse_config(kConfig, "/etc/tlsward/tlsward.toml");
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    const ServiceConfig& s = c->services.at(0);
    CHECK(s.certificates.at(0).cert_path == "/run/credentials/tlsward.service/web.crt");
    CHECK(s.certificates.at(0).key_path == "/run/credentials/tlsward.service/web.key");
    CHECK(s.tls.client_ca == "/run/credentials/tlsward.service/clients.pem");
}

TEST_CASE("credential: names without CREDENTIALS_DIRECTORY name the line and LoadCredential=") {
    CredentialsDirectory env(nullptr);
    auto c = parse_config(kConfig, "tlsward.toml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.message().find("tlsward.toml:5: ") != std::string::npos);
    CHECK(c.message().find("LoadCredential=web.crt:") != std::string::npos);
}

TEST_CASE("a credential name is a plain file name") {
    CredentialsDirectory env("/run/credentials/x");
    CHECK(credential_path("credential:web.key").value() == "/run/credentials/x/web.key");
    CHECK_FALSE(credential_path("credential:../web.key").ok());
    CHECK_FALSE(credential_path("credential:a/b").ok());
    CHECK_FALSE(credential_path("credential:").ok());
    CHECK_FALSE(credential_path("credential:..").ok());
    CHECK(is_credential_reference("credential:x"));
    CHECK_FALSE(is_credential_reference("/etc/credential:x"));
}
