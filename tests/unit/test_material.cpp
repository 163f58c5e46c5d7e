// load_certificate and check_config against files generated here with
// OpenSSL: ECDSA P-256, RSA-2048, a two-certificate chain, a mismatched key,
// garbage, an encrypted key, an expired certificate, a combined PEM.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/config_check.hpp"
#include "supervisor/material.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                           "/tlsward-material-XXXXXX";
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

PkeyPtr ec_key() {
    return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
}
PkeyPtr rsa_key() {
    return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free);
}

// A certificate for `key` with CN=cn, signed by issuer_key under issuer's
// name (self-signed when issuer is null), valid from..to days from now.
X509Ptr make_cert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                  long from_days = -1, long to_days = 30) {
    X509Ptr x(X509_new(), X509_free);
    REQUIRE(x);
    X509_set_version(x.get(), 2);
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), to_days * 86400);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x.get(), key);
    REQUIRE(X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

void write_pem(const std::string& path, const std::vector<X509*>& certs, EVP_PKEY* key = nullptr,
               mode_t mode = 0600) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    REQUIRE(bio != nullptr);
    for (X509* c : certs) REQUIRE(PEM_write_bio_X509(bio, c) == 1);
    if (key != nullptr)
        REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    BIO_free(bio);
    REQUIRE(chmod(path.c_str(), mode) == 0);
}

void write_key(const std::string& path, EVP_PKEY* key, mode_t mode = 0600) {
    write_pem(path, {}, key, mode);
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

std::string as_text(const SecretBytes& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST_CASE("load_certificate: ECDSA P-256 self-signed", "[config][material]") {
    TempDir dir;
    PkeyPtr key = ec_key();
    X509Ptr cert = make_cert("ec.test", key.get(), nullptr, nullptr);
    write_pem(dir.file("ec.crt"), {cert.get()});
    write_key(dir.file("ec.key"), key.get());

    auto c = load_certificate({dir.file("ec.crt"), dir.file("ec.key")});
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    CHECK(c->summary.rfind("CN=ec.test, ECDSA P-256, not after 20", 0) == 0);
    CHECK(c->summary.find(", chain of 1") != std::string::npos);
    CHECK_FALSE(c->expired);
    CHECK(c->warnings.empty());
    CHECK(c->chain_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
    CHECK(as_text(c->key_pem).rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);

    // What the helpers get parses back to the same key.
    BIO* bio = BIO_new_mem_buf(c->key_pem.data(), static_cast<int>(c->key_pem.size()));
    PkeyPtr back(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr), EVP_PKEY_free);
    BIO_free(bio);
    REQUIRE(back);
    CHECK(EVP_PKEY_eq(back.get(), key.get()) == 1);
}

TEST_CASE("load_certificate: RSA-2048", "[config][material]") {
    TempDir dir;
    PkeyPtr key = rsa_key();
    X509Ptr cert = make_cert("rsa.test", key.get(), nullptr, nullptr);
    write_pem(dir.file("rsa.crt"), {cert.get()});
    write_key(dir.file("rsa.key"), key.get());
    auto c = load_certificate({dir.file("rsa.crt"), dir.file("rsa.key")});
    REQUIRE(c.ok());
    CHECK(c->summary.rfind("CN=rsa.test, RSA-2048, not after ", 0) == 0);
}

TEST_CASE("load_certificate: a chain of two, leaf first", "[config][material]") {
    TempDir dir;
    PkeyPtr ca_key = ec_key();
    X509Ptr ca = make_cert("Test CA", ca_key.get(), nullptr, nullptr);
    PkeyPtr leaf_key = ec_key();
    X509Ptr leaf = make_cert("www.test", leaf_key.get(), ca.get(), ca_key.get());
    write_pem(dir.file("chain.crt"), {leaf.get(), ca.get()});
    write_key(dir.file("leaf.key"), leaf_key.get());

    auto c = load_certificate({dir.file("chain.crt"), dir.file("leaf.key")});
    INFO((c.ok() ? std::string() : c.message()));
    REQUIRE(c.ok());
    CHECK(c->summary.rfind("CN=www.test, ", 0) == 0);
    CHECK(c->summary.find(", chain of 2") != std::string::npos);
    CHECK(c->warnings.empty());
    // Both certificates are handed on, in file order.
    size_t first = c->chain_pem.find("BEGIN CERTIFICATE");
    CHECK(c->chain_pem.find("BEGIN CERTIFICATE", first + 1) != std::string::npos);

    SECTION("an unrelated second certificate is a warning") {
        PkeyPtr other_key = ec_key();
        X509Ptr other = make_cert("Other CA", other_key.get(), nullptr, nullptr);
        write_pem(dir.file("bad-chain.crt"), {leaf.get(), other.get()});
        auto b = load_certificate({dir.file("bad-chain.crt"), dir.file("leaf.key")});
        REQUIRE(b.ok());
        REQUIRE(b->warnings.size() == 1);
        CHECK(b->warnings[0] == dir.file("bad-chain.crt") +
                                    ": certificate #2 (CN=Other CA) did not issue certificate "
                                    "#1 (CN=www.test); put the leaf first, then each issuer");
    }
}

TEST_CASE("load_certificate: errors name the file", "[config][material]") {
    TempDir dir;
    PkeyPtr key = ec_key();
    PkeyPtr other = ec_key();
    X509Ptr cert = make_cert("ec.test", key.get(), nullptr, nullptr);
    const std::string crt = dir.file("ec.crt");
    const std::string good_key = dir.file("ec.key");
    write_pem(crt, {cert.get()});
    write_key(good_key, key.get());

    SECTION("a key that belongs to another certificate") {
        write_key(dir.file("other.key"), other.get());
        auto c = load_certificate({crt, dir.file("other.key")});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("other.key") + ": key does not match certificate " + crt);
    }
    SECTION("an RSA key for an ECDSA certificate") {
        PkeyPtr rsa = rsa_key();
        write_key(dir.file("rsa.key"), rsa.get());
        auto c = load_certificate({crt, dir.file("rsa.key")});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("rsa.key") + ": key does not match certificate " + crt);
    }
    SECTION("garbage key") {
        write_text(dir.file("garbage.key"), "this is not a key\n");
        auto c = load_certificate({crt, dir.file("garbage.key")});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("garbage.key") + ": not a PEM private key");
    }
    SECTION("a certificate where the key should be") {
        auto c = load_certificate({crt, crt});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == crt + ": not a PEM private key");
    }
    SECTION("an empty key file") {
        write_text(dir.file("empty.key"), "");
        auto c = load_certificate({crt, dir.file("empty.key")});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("empty.key") + ": not a PEM private key (the file is empty)");
    }
    SECTION("garbage certificate") {
        write_text(dir.file("garbage.crt"), std::string("garbage\x01\x02\0 not PEM\n", 18));
        auto c = load_certificate({dir.file("garbage.crt"), good_key});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("garbage.crt") + ": not a PEM certificate");
    }
    SECTION("a corrupt certificate block") {
        write_text(dir.file("corrupt.crt"),
                   "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        auto c = load_certificate({dir.file("corrupt.crt"), good_key});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message().rfind(dir.file("corrupt.crt") + ": certificate #1 cannot be parsed: ",
                                0) == 0);
    }
    SECTION("a DER certificate") {
        unsigned char* der = nullptr;
        int n = i2d_X509(cert.get(), &der);
        REQUIRE(n > 0);
        write_text(dir.file("cert.der"), std::string(reinterpret_cast<char*>(der), n));
        OPENSSL_free(der);
        auto c = load_certificate({dir.file("cert.der"), good_key});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("cert.der") +
                                 ": not a PEM certificate (it looks like DER: convert it with "
                                 "\"openssl x509 -inform der\")");
    }
    SECTION("missing files") {
        auto c = load_certificate({dir.file("nope.crt"), good_key});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("nope.crt") + ": cannot read: No such file or directory");
        c = load_certificate({crt, dir.file("nope.key")});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.file("nope.key") + ": cannot read: No such file or directory");
        c = load_certificate({crt, dir.path});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message() == dir.path + ": cannot read: not a regular file");
    }
    SECTION("an encrypted key is refused without prompting") {
        BIO* bio = BIO_new_file(dir.file("enc.key").c_str(), "w");
        REQUIRE(bio != nullptr);
        REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_256_cbc(), "secret", 6,
                                              nullptr, nullptr) == 1);
        BIO_free(bio);
        auto c = load_certificate({crt, dir.file("enc.key")});
        REQUIRE_FALSE(c.ok());
        CHECK(c.message().rfind(dir.file("enc.key") + ": the private key is encrypted", 0) == 0);
    }
}

TEST_CASE("load_certificate: expired, combined file, file mode", "[config][material]") {
    TempDir dir;
    PkeyPtr key = ec_key();

    SECTION("an expired certificate loads, flagged") {
        X509Ptr old = make_cert("old.test", key.get(), nullptr, nullptr, -10, -1);
        write_pem(dir.file("old.crt"), {old.get()});
        write_key(dir.file("old.key"), key.get());
        auto c = load_certificate({dir.file("old.crt"), dir.file("old.key")});
        REQUIRE(c.ok());
        CHECK(c->expired);
        CHECK(c->summary.find(", EXPIRED") != std::string::npos);
        REQUIRE(c->warnings.size() == 1);
        CHECK(c->warnings[0].rfind(dir.file("old.crt") + ": certificate CN=old.test expired on ",
                                   0) == 0);
    }
    SECTION("chain and key in one file, in either order") {
        X509Ptr cert = make_cert("both.test", key.get(), nullptr, nullptr);
        write_pem(dir.file("both.pem"), {cert.get()}, key.get());
        auto c = load_certificate({dir.file("both.pem"), dir.file("both.pem")});
        INFO((c.ok() ? std::string() : c.message()));
        REQUIRE(c.ok());
        CHECK(c->chain_pem.find("PRIVATE") == std::string::npos);
        CHECK(as_text(c->key_pem).find("CERTIFICATE") == std::string::npos);
        // An empty key_path means the same file.
        CHECK(load_certificate({dir.file("both.pem"), ""}).ok());

        write_key(dir.file("key-first.pem"), key.get());
        BIO* bio = BIO_new_file(dir.file("key-first.pem").c_str(), "a");
        PEM_write_bio_X509(bio, cert.get());
        BIO_free(bio);
        auto k = load_certificate({dir.file("key-first.pem"), dir.file("key-first.pem")});
        INFO((k.ok() ? std::string() : k.message()));
        CHECK(k.ok());
    }
    SECTION("a world-readable key file is a warning") {
        X509Ptr cert = make_cert("mode.test", key.get(), nullptr, nullptr);
        write_pem(dir.file("m.crt"), {cert.get()}, nullptr, 0644);
        write_key(dir.file("m.key"), key.get(), 0644);
        auto c = load_certificate({dir.file("m.crt"), dir.file("m.key")});
        REQUIRE(c.ok());
        REQUIRE(c->warnings.size() == 1);
        CHECK(c->warnings[0] == dir.file("m.key") +
                                    ": the private key file is readable by everyone (mode 0644); "
                                    "chmod o-rwx it");
    }
}

TEST_CASE("check_config loads every certificate and resolves every target", "[config][material]") {
    TempDir dir;
    PkeyPtr key = ec_key();
    PkeyPtr other = ec_key();
    X509Ptr cert = make_cert("web.test", key.get(), nullptr, nullptr);
    write_pem(dir.file("web.crt"), {cert.get()});
    write_key(dir.file("web.key"), key.get());
    write_key(dir.file("other.key"), other.get());
    const std::string path = dir.file("tlsward.toml");
    write_text(path,
               "[[service]]\n"
               "name = \"web\"\n"
               "listen = \"127.0.0.1:8443\"\n"
               "target = \"localhost:8080\"\n"
               "cert = \"web.crt\"\n"
               "key = \"web.key\"\n"
               "\n"
               "[[service]]\n"
               "name = \"api\"\n"
               "listen = \"127.0.0.1:9443\"\n"
               "target = \"unix:/run/api.sock\"\n"
               "cert = \"web.crt\"\n"
               "key = \"other.key\"\n");
    auto config = load_config_file(path);
    REQUIRE(config.ok());
    std::vector<std::string> info, warn;
    Status s = check_config(
        config.value(), [&](const std::string& w) { warn.push_back(w); },
        [&](const std::string& i) { info.push_back(i); });
    REQUIRE_FALSE(s.ok());
    // At the line of the key that does not match, not the [[service]] line.
    CHECK(s.message() == path + ":13: service \"api\": " + dir.file("other.key") +
                             ": key does not match certificate " + dir.file("web.crt"));
    CHECK(warn.empty());
    REQUIRE(info.size() >= 2);
    CHECK(info[1].rfind(path + ":1: service \"web\": " + dir.file("web.crt") + ": CN=web.test",
                        0) == 0);

    config->services.pop_back();
    CHECK(check_config(config.value()).ok());

    SECTION("one certificate per key type in a service") {
        PkeyPtr rsa = rsa_key();
        X509Ptr rsa_cert = make_cert("web.test", rsa.get(), nullptr, nullptr);
        write_pem(dir.file("rsa.crt"), {rsa_cert.get()});
        write_key(dir.file("rsa.key"), rsa.get());
        X509Ptr other_cert = make_cert("web.test", other.get(), nullptr, nullptr);
        write_pem(dir.file("other.crt"), {other_cert.get()});
        ServiceConfig& web = config->services[0];
        web.certificates = {{dir.file("web.crt"), dir.file("web.key")},
                            {dir.file("rsa.crt"), dir.file("rsa.key")}};
        CHECK(check_config(config.value()).ok());
        web.certificates.push_back({dir.file("other.crt"), dir.file("other.key")});
        Status dup = check_config(config.value());
        REQUIRE_FALSE(dup.ok());
        CHECK(dup.message() == path + ":1: service \"web\": " + dir.file("other.crt") +
                                   ": certificates 1 and 3 both serve \"web.test\" with a "
                                   "ECDSA P-256 key; give at most one certificate per key type "
                                   "and server name");
        // Another name is another SNI group: allowed.
        web.certificates.back().names = {"other.test"};
        CHECK(check_config(config.value()).ok());
    }
}
