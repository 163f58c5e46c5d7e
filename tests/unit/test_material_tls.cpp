// Trust material the supervisor reads for the helpers: CA files and
// directories, CRLs (PEM and DER), OCSP responses checked against their
// certificate, the server names a certificate serves, and the CP_TRUST
// messages that carry it all.
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/material.hpp"
#include "supervisor/prepared_config.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

struct Dir {
    std::string path;
    Dir() {
        std::string tmpl = "/tmp/tlsward-trust-XXXXXX";
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~Dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

struct Key {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    ~Key() { EVP_PKEY_free(k); }
};

struct Cert {
    X509* x = X509_new();
    ~Cert() { X509_free(x); }
};

void ext(X509* x, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(e != nullptr);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

void make(Cert& c, EVP_PKEY* key, const char* cn, const char* san, X509* issuer,
          EVP_PKEY* issuer_key, long serial) {
    X509_set_version(c.x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.x), serial);
    X509_gmtime_adj(X509_getm_notBefore(c.x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c.x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c.x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(c.x, X509_get_subject_name(issuer ? issuer : c.x));
    X509_set_pubkey(c.x, key);
    if (san) ext(c.x, issuer ? issuer : c.x, NID_subject_alt_name, san);
    if (!issuer) ext(c.x, c.x, NID_basic_constraints, "critical,CA:TRUE");
    REQUIRE(X509_sign(c.x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
}

void write_pem(const std::string& path, std::vector<X509*> certs, EVP_PKEY* key = nullptr) {
    BIO* b = BIO_new_file(path.c_str(), "w");
    for (X509* x : certs) PEM_write_bio_X509(b, x);
    if (key) PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    BIO_free(b);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<uint8_t> crl_der(X509* ca, EVP_PKEY* ca_key, long next_days, long revoked_serial) {
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
    ASN1_TIME* last = ASN1_TIME_adj(nullptr, time(nullptr), -2, 0);
    ASN1_TIME* next = ASN1_TIME_adj(nullptr, time(nullptr), static_cast<int>(next_days), 0);
    X509_CRL_set1_lastUpdate(crl, last);
    X509_CRL_set1_nextUpdate(crl, next);
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* sn = ASN1_INTEGER_new();
    ASN1_INTEGER_set(sn, revoked_serial);
    X509_REVOKED_set_serialNumber(r, sn);
    X509_REVOKED_set_revocationDate(r, last);
    X509_CRL_add0_revoked(crl, r);
    X509_CRL_sign(crl, ca_key, EVP_sha256());
    unsigned char* der = nullptr;
    int n = i2d_X509_CRL(crl, &der);
    std::vector<uint8_t> out(der, der + n);
    OPENSSL_free(der);
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    return out;
}

std::vector<uint8_t> ocsp_der(X509* leaf, X509* ca, EVP_PKEY* ca_key, int status, long next_days) {
    OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, leaf, ca);
    ASN1_TIME* now = ASN1_TIME_adj(nullptr, time(nullptr), -1, 0);
    ASN1_TIME* next = ASN1_TIME_adj(nullptr, time(nullptr), static_cast<int>(next_days), 0);
    ASN1_TIME* rev = status == V_OCSP_CERTSTATUS_REVOKED ? now : nullptr;
    OCSP_basic_add1_status(bs, id, status, 0, rev, now, next);
    OCSP_basic_sign(bs, ca, ca_key, EVP_sha256(), nullptr, 0);
    OCSP_RESPONSE* resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    unsigned char* der = nullptr;
    int n = i2d_OCSP_RESPONSE(resp, &der);
    std::vector<uint8_t> out(der, der + n);
    OPENSSL_free(der);
    OCSP_RESPONSE_free(resp);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    OCSP_BASICRESP_free(bs);
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& part) {
    for (const std::string& s : v)
        if (s.find(part) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("CA certificates from a file or a directory", "[config][material][tls]") {
    Dir d;
    Key k1, k2;
    Cert ca1, ca2;
    make(ca1, k1.k, "CA one", nullptr, nullptr, nullptr, 1);
    make(ca2, k2.k, "CA two", nullptr, nullptr, nullptr, 2);
    write_pem(d.file("bundle.pem"), {ca1.x, ca2.x});
    auto bundle = load_ca_certificates(d.file("bundle.pem"));
    REQUIRE(bundle.ok());
    CHECK(bundle->count == 2);
    CHECK(bundle->summary == "2 CA certificates from " + d.file("bundle.pem"));

    std::filesystem::create_directory(d.file("certs"));
    write_pem(d.file("certs/one.pem"), {ca1.x});
    write_pem(d.file("certs/two.pem"), {ca2.x});
    symlink("one.pem", d.file("certs/abcdef01.0").c_str());  // a c_rehash link: counted once
    write_bytes(d.file("certs/README"), {'h', 'i', '\n'});
    auto dir = load_ca_certificates(d.file("certs"));
    REQUIRE(dir.ok());
    CHECK(dir->count == 2);
    CHECK(dir->summary.find("(1 files without certificates skipped)") != std::string::npos);
    CHECK(dir->der.size() == bundle->der.size());

    write_bytes(d.file("empty.pem"), {});
    auto empty = load_ca_certificates(d.file("empty.pem"));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.message() == d.file("empty.pem") + ": no PEM certificate in the file");
    auto missing = load_ca_certificates(d.file("nope"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message() == d.file("nope") + ": cannot read: No such file or directory");
}

TEST_CASE("CRLs in PEM and DER, an expired one warned about", "[config][material][tls]") {
    Dir d;
    Key k;
    Cert ca;
    make(ca, k.k, "CA", nullptr, nullptr, nullptr, 1);
    auto der = crl_der(ca.x, k.k, 30, 7);
    write_bytes(d.file("ca.crl"), der);
    const unsigned char* p = der.data();
    X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
    BIO* b = BIO_new_file(d.file("ca.crl.pem").c_str(), "w");
    PEM_write_bio_X509_CRL(b, crl);
    BIO_free(b);
    X509_CRL_free(crl);
    write_bytes(d.file("old.crl"), crl_der(ca.x, k.k, -1, 8));
    auto both = load_crls({d.file("ca.crl"), d.file("ca.crl.pem")});
    REQUIRE(both.ok());
    CHECK(both->count == 2);
    CHECK(both->warnings.empty());
    auto old = load_crls({d.file("old.crl")});
    REQUIRE(old.ok());
    CHECK(has(old->warnings, "every client certificate from that CA is refused"));
    write_bytes(d.file("junk.crl"), {'x', 'y'});
    auto junk = load_crls({d.file("junk.crl")});
    REQUIRE_FALSE(junk.ok());
    CHECK(junk.message().rfind(d.file("junk.crl") + ": not a PEM or DER CRL", 0) == 0);
}

TEST_CASE("OCSP responses: checked against their certificate", "[config][material][tls]") {
    Dir d;
    Key cak, leafk, otherk;
    Cert ca, leaf, other;
    make(ca, cak.k, "OCSP CA", nullptr, nullptr, nullptr, 1);
    make(leaf, leafk.k, "www.example.com", "DNS:www.example.com,DNS:example.com", ca.x, cak.k, 50);
    make(other, otherk.k, "other.example", "DNS:other.example", ca.x, cak.k, 51);
    write_pem(d.file("chain.pem"), {leaf.x, ca.x});
    write_pem(d.file("leaf.key"), {}, leafk.k);
    chmod(d.file("leaf.key").c_str(), 0600);
    write_bytes(d.file("good.der"), ocsp_der(leaf.x, ca.x, cak.k, V_OCSP_CERTSTATUS_GOOD, 7));
    write_bytes(d.file("stale.der"), ocsp_der(leaf.x, ca.x, cak.k, V_OCSP_CERTSTATUS_GOOD, -1));
    write_bytes(d.file("revoked.der"), ocsp_der(leaf.x, ca.x, cak.k, V_OCSP_CERTSTATUS_REVOKED, 7));
    write_bytes(d.file("other.der"), ocsp_der(other.x, ca.x, cak.k, V_OCSP_CERTSTATUS_GOOD, 7));
    write_bytes(d.file("junk.der"), {0x30, 0x00});

    CertificateFiles f{d.file("chain.pem"), d.file("leaf.key")};
    auto plain = load_certificate(f);
    REQUIRE(plain.ok());
    CHECK(plain->names == std::vector<std::string>{"www.example.com", "example.com"});
    CHECK(plain->ocsp_der.empty());

    f.ocsp_path = d.file("good.der");
    auto good = load_certificate(f);
    REQUIRE(good.ok());
    CHECK(!good->ocsp_der.empty());
    CHECK(good->warnings.empty());

    f.ocsp_path = d.file("stale.der");
    auto stale = load_certificate(f);
    REQUIRE(stale.ok());
    CHECK(has(stale->warnings, "the OCSP response expired"));
    f.ocsp_path = d.file("revoked.der");
    auto revoked = load_certificate(f);
    REQUIRE(revoked.ok());
    CHECK(has(revoked->warnings, "certificate CN=www.example.com is revoked"));
    f.ocsp_path = d.file("other.der");
    auto wrong = load_certificate(f);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.message() ==
          d.file("other.der") + ": the OCSP response is not about certificate CN=www.example.com");
    f.ocsp_path = d.file("junk.der");
    auto junk = load_certificate(f);
    REQUIRE_FALSE(junk.ok());
    CHECK(junk.message() == d.file("junk.der") + ": not a DER OCSP response");

    // Names from the configuration replace the certificate's.
    CertificateFiles named{d.file("chain.pem"), d.file("leaf.key"), {"api.example"}};
    CHECK(load_certificate(named)->names == std::vector<std::string>{"api.example"});
}

TEST_CASE("prepared services: the helper's view and its CP_TRUST messages",
          "[config][material][tls]") {
    PreparedService s;
    s.id = 3;
    s.config.name = "api";
    s.config.tls.client_ca = "/x";
    s.config.tls.verify_client = ipc::VerifyPeer::optional;
    s.config.tls.allow_spki = {std::string(64, 'f')};
    s.config.tls.alpn = {"h2"};
    s.client_ca.der.assign(100 * 1024, 0x30);
    s.crls.der.assign(10, 0x30);
    GlobalConfig g;
    g.session_lifetime_ms = 600 * 1000;
    ipc::ServiceTls t = service_tls(s, g);
    CHECK(t.verify_client == ipc::VerifyPeer::optional);
    REQUIRE(t.allow_spki.size() == 1);
    CHECK(t.allow_spki[0][31] == 0xff);
    CHECK(t.session_lifetime_s == 600);
    CHECK(t.alpn == std::vector<std::string>{"h2"});
    auto msgs = trust_messages(s);
    REQUIRE(msgs.size() == 4);  // 100 KiB of CA in three chunks, one CRL chunk
    size_t ca_bytes = 0;
    for (const auto& m : msgs) {
        CHECK(m.service_id == 3);
        CHECK(ipc::encode_body(m).value().size() <= ipc::kMaxBody);
        if (m.kind == ipc::TrustKind::client_ca) ca_bytes += m.der.size();
    }
    CHECK(ca_bytes == 100 * 1024);
    CHECK(msgs.back().kind == ipc::TrustKind::crl);
    // Without client_ca no client certificate is asked for.
    s.config.tls.client_ca.clear();
    CHECK(service_tls(s, g).verify_client == ipc::VerifyPeer::none);
}
