// The helper's TLS features against a real OpenSSL peer in this process:
// SNI and dual certificates, ALPN, client certificates with allow-lists
// and CRLs, OCSP stapling, session tickets with shared keys (and their
// binding to a service and a server name), and the client role.
#include <fcntl.h>
#include <sys/socket.h>

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include <map>
#include <memory>

#include "cryptoproc/certificates.hpp"
#include "cryptoproc/helper.hpp"
#include "cryptoproc/key_export.hpp"
#include "cryptoproc/peer_verify.hpp"
#include "test_cryptoproc_support.hpp"

using namespace tlsward;
using namespace tlsward::cryptoproc;
using namespace tlsward::cptest;

namespace {

// Several services in one loop, as one helper has them.
struct Helperish {
    TestLoop loop;
    std::unique_ptr<FdPoller> poller;
    std::map<uint32_t, std::unique_ptr<ServiceContext>> services;
    std::unique_ptr<JobTable> jobs;
    std::map<uint64_t, HandshakeResult> results;
    uint64_t next_job = 1;

    Helperish() {
        REQUIRE(key_export_init().ok());
        auto p = FdPoller::create(loop.get());
        REQUIRE(p.ok());
        poller = std::move(*p);
        jobs = std::make_unique<JobTable>(loop.get(), poller.get(), 1);
    }
    ~Helperish() {
        jobs.reset();
        poller.reset();
        CHECK(loop.close() == 0);
    }
    ServiceContext& add(const ServiceSpec& spec) {
        auto s = build_service_context(spec);
        INFO((s.ok() ? std::string() : s.message()));
        REQUIRE(s.ok());
        auto& slot = services[spec.id];
        slot = std::move(*s);
        return *slot;
    }
    // Lends a copy of fd for a handshake of the service; returns the job id.
    uint64_t lend(uint32_t service, int fd, const std::string& server_name = "") {
        ipc::HandshakeJob job;
        uint64_t id = next_job++;
        job.conn_id = 100 + id;
        job.service_id = service;
        job.role = services.at(service)->role;
        job.deadline_ms = 5000;
        job.server_name = server_name;
        UniqueFd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
        auto refused = jobs->start(
            id, job, services.at(service).get(), std::move(copy),
            [this](uint64_t j, HandshakeResult&& r) { results.emplace(j, std::move(r)); });
        if (refused) FAIL("refused: " << refused->detail);
        return id;
    }
    HandshakeResult& wait(uint64_t job) {
        REQUIRE(loop.run_until([&] { return results.count(job) != 0; }, 5000));
        loop.run_until([] { return false; }, 20);
        return results.at(job);
    }
};

const ipc::HandshakeDone& done_of(const HandshakeResult& r) {
    if (auto* f = std::get_if<ipc::HandshakeFailed>(&r)) {
        INFO("reason " << ipc::fail_reason_name(f->reason) << " alert " << int(f->alert) << ": "
                       << f->detail);
        FAIL("handshake failed");
    }
    return std::get<ipc::HandshakeDone>(r);
}

const ipc::HandshakeFailed& failed_of(const HandshakeResult& r) {
    REQUIRE(std::holds_alternative<ipc::HandshakeFailed>(r));
    return std::get<ipc::HandshakeFailed>(r);
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

CertificateSpec cert_spec(const Credentials& c, std::vector<std::string> names = {},
                          std::vector<uint8_t> ocsp = {}) {
    return CertificateSpec{c.chain_pem, SecretBytes(as_bytes(c.key_pem)), std::move(names),
                           std::move(ocsp)};
}

template <class... T>
std::vector<CertificateSpec> certs(T&&... c) {
    std::vector<CertificateSpec> v;
    (v.push_back(std::forward<T>(c)), ...);
    return v;
}

ServiceSpec copy_spec(const ServiceSpec& s) {
    ServiceSpec c;
    c.id = s.id;
    c.name = s.name;
    c.role = s.role;
    c.handshake_timeout_ms = s.handshake_timeout_ms;
    c.tls = s.tls;
    for (const CertificateSpec& cs : s.certificates)
        c.certificates.push_back(
            CertificateSpec{cs.chain_pem, cs.key_pem.clone(), cs.names, cs.ocsp_der});
    c.client_ca_der = s.client_ca_der;
    c.server_ca_der = s.server_ca_der;
    c.crl_der = s.crl_der;
    return c;
}

ServiceSpec spec_of(uint32_t id, const std::string& name, std::vector<CertificateSpec> certs) {
    ServiceSpec s;
    s.id = id;
    s.name = name;
    s.certificates = std::move(certs);
    return s;
}

// One handshake of a test client with the service; the client's result
// and the helper's.
struct Outcome {
    ClientResult client;
    HandshakeResult helper;
    SSL_SESSION* session = nullptr;  // after the data path (tickets), owned here
    ~Outcome() { SSL_SESSION_free(session); }
};

std::unique_ptr<Outcome> connect(Helperish& h, uint32_t service, ClientOptions o,
                                 bool data_path = true) {
    auto out = std::make_unique<Outcome>();
    auto [c, s] = tcp_pair();
    if (o.app_data.empty()) o.app_data = "ping";
    TestClient client(std::move(c), o);
    uint64_t job = h.lend(service, s.get());
    out->helper = std::move(h.wait(job));
    out->client = client.join();
    if (data_path && std::holds_alternative<ipc::HandshakeDone>(out->helper)) {
        auto path =
            check_data_path(std::get<ipc::HandshakeDone>(out->helper), client, s.get(), o.app_data);
        INFO((path.ok() ? std::string() : path.message()));
        CHECK(path.ok());
        out->session = client.take_session();
    }
    return out;
}

ipc::CpTicketKeys ticket_keys(std::vector<uint8_t> fills, uint8_t sealing) {
    ipc::CpTicketKeys k;
    for (uint8_t f : fills) {
        SecretBytes key(80);
        for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(f + i);
        k.keys.push_back(std::move(key));
    }
    k.encrypt_index = sealing;
    return k;
}

// A CRL from the CA of `issued` revoking `revoked`'s serial.
std::vector<uint8_t> crl_revoking(const IssuedCredentials& issued, const Credentials& revoked) {
    BioPtr cb(BIO_new_mem_buf(issued.ca.chain_pem.data(), -1));
    X509Ptr ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    BioPtr kb(BIO_new_mem_buf(issued.ca.key_pem.data(), -1));
    EvpPkeyPtr ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    BioPtr lb(BIO_new_mem_buf(revoked.chain_pem.data(), -1));
    X509Ptr leaf(PEM_read_bio_X509(lb.get(), nullptr, nullptr, nullptr));
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.get()));
    ASN1_TIME* now = ASN1_TIME_adj(nullptr, time(nullptr), 0, -60);
    ASN1_TIME* next = ASN1_TIME_adj(nullptr, time(nullptr), 1, 0);
    X509_CRL_set1_lastUpdate(crl, now);
    X509_CRL_set1_nextUpdate(crl, next);
    X509_REVOKED* rev = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(leaf.get()));
    X509_REVOKED_set_revocationDate(rev, now);
    X509_CRL_add0_revoked(crl, rev);
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, ca_key.get(), EVP_sha256());
    unsigned char* der = nullptr;
    int n = i2d_X509_CRL(crl, &der);
    std::vector<uint8_t> out(der, der + n);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    return out;
}

std::vector<uint8_t> spki_of(const Credentials& c) {
    BioPtr b(BIO_new_mem_buf(c.chain_pem.data(), -1));
    X509Ptr x(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    ipc::Sha256 h = spki_sha256(x.get());
    return {h.begin(), h.end()};
}

ipc::Sha256 spki_hash(const Credentials& c) {
    auto v = spki_of(c);
    ipc::Sha256 h{};
    std::copy(v.begin(), v.end(), h.begin());
    return h;
}

}  // namespace

TEST_CASE("cryptoproc tls: names, wildcards and groups", "[cryptoproc][tls]") {
    CHECK(host_matches("*.example.com", "a.example.com"));
    CHECK_FALSE(host_matches("*.example.com", "example.com"));
    CHECK_FALSE(host_matches("*.example.com", "a.b.example.com"));
    CHECK(uri_matches("spiffe://example.org/ns/*", "spiffe://example.org/ns/web"));
    CHECK_FALSE(uri_matches("spiffe://example.org/ns/web", "spiffe://example.org/ns/web2"));
    std::string n;
    CHECK(normalize_host_name("WWW.Example.COM.", n));
    CHECK(n == "www.example.com");
    CHECK_FALSE(normalize_host_name("a..b", n));
    CHECK_FALSE(normalize_host_name("a b", n));

    auto a_ec = issue("a", "DNS:a.example");
    auto a_rsa = issue_from(a_ec, "a-rsa", "DNS:a.example", true);
    auto b = issue("b", "DNS:*.b.example");
    auto set = CertificateSet::build(certs(cert_spec(a_ec.leaf, {"a.example"}),
                                           cert_spec(a_rsa, {"a.example"}),
                                           cert_spec(b.leaf, {"*.b.example"})));
    REQUIRE(set.ok());
    REQUIRE(set->groups().size() == 2);
    CHECK(set->groups()[0].members == std::vector<size_t>{0, 1});
    CHECK(set->find("a.example") == 0);
    CHECK(set->find("x.b.example") == 1);
    CHECK(set->find("b.example") == -1);
    CHECK(set->find("other.example") == -1);
    // Two ECDSA certificates for one name cannot both serve it.
    auto dup = CertificateSet::build(
        certs(cert_spec(a_ec.leaf, {"a.example"}), cert_spec(b.leaf, {"a.example"})));
    REQUIRE_FALSE(dup.ok());
    CHECK(contains(dup.message(), "both serve \"a.example\""));
}

TEST_CASE("cryptoproc tls: SNI picks the certificate, the signature algorithms the key type",
          "[cryptoproc][tls]") {
    auto a_ec = issue("a-ecdsa", "DNS:a.example");
    auto a_rsa = issue_from(a_ec, "a-rsa", "DNS:a.example", true);
    auto b = issue("b", "DNS:*.b.example");
    Helperish h;
    ServiceSpec spec =
        spec_of(1, "web",
                certs(cert_spec(a_ec.leaf, {"a.example"}), cert_spec(a_rsa, {"a.example"}),
                      cert_spec(b.leaf, {"*.b.example"})));
    h.add(spec);
    spec.id = 2;
    spec.tls.unknown_sni = ipc::UnknownSni::refuse;
    h.add(spec);

    auto with_sni = [](const std::string& sni) {
        ClientOptions o;
        o.sni = sni;
        return o;
    };
    auto ec = connect(h, 1, with_sni("a.example"));
    CHECK(ec->client.peer_cn == "a-ecdsa");
    CHECK(ec->client.peer_key_type == EVP_PKEY_EC);
    CHECK(done_of(ec->helper).sni == "a.example");

    ClientOptions rsa_only = with_sni("a.example");
    rsa_only.sigalgs = "RSA-PSS+SHA256:RSA+SHA256";
    CHECK(connect(h, 1, rsa_only)->client.peer_cn == "a-rsa");
    rsa_only.min_version = rsa_only.max_version = TLS1_2_VERSION;
    CHECK(connect(h, 1, rsa_only)->client.peer_cn == "a-rsa");

    CHECK(connect(h, 1, with_sni("www.b.example"))->client.peer_cn == "b");
    CHECK(connect(h, 1, with_sni("WWW.B.Example"))->client.peer_cn == "b");
    // Unknown and absent names get the default (the first certificate's).
    CHECK(connect(h, 1, with_sni("unknown.example"))->client.peer_cn == "a-ecdsa");
    CHECK(connect(h, 1, ClientOptions{})->client.peer_cn == "a-ecdsa");

    // unknown_sni = refuse: unrecognized_name, with the name in the reason.
    auto refused = connect(h, 2, with_sni("unknown.example"), false);
    const auto& f = failed_of(refused->helper);
    CHECK(f.reason == ipc::FailReason::alert_sent);
    CHECK(f.alert == SSL_AD_UNRECOGNIZED_NAME);
    CHECK(contains(f.detail, "unknown server name \"unknown.example\""));
    CHECK(connect(h, 2, ClientOptions{})->client.peer_cn == "a-ecdsa");  // no SNI: default
}

TEST_CASE("cryptoproc tls: ALPN in the service's order of preference", "[cryptoproc][tls]") {
    Helperish h;
    ServiceSpec spec = spec_of(1, "web", certs(cert_spec(ecdsa_p256())));
    spec.tls.alpn = {"h2", "http/1.1"};
    h.add(spec);
    ClientOptions o;
    o.alpn = {"http/1.1", "h2"};
    auto both = connect(h, 1, o);
    CHECK(both->client.alpn == "h2");
    CHECK(done_of(both->helper).alpn == "h2");
    o.alpn = {"http/1.1"};
    CHECK(done_of(connect(h, 1, o)->helper).alpn == "http/1.1");
    CHECK(done_of(connect(h, 1, ClientOptions{})->helper).alpn.empty());
    o.alpn = {"spdy/3"};
    auto none = connect(h, 1, o, false);
    const auto& f = failed_of(none->helper);
    CHECK(f.alert == 120);  // no_application_protocol
    CHECK(contains(f.detail, "no common ALPN protocol: the client offers spdy/3"));
}

TEST_CASE("cryptoproc tls: OCSP staple for the chosen certificate", "[cryptoproc][tls]") {
    Helperish h;
    std::vector<uint8_t> staple = {0x30, 0x03, 0x0a, 0x01, 0x00};
    h.add(spec_of(1, "web", certs(cert_spec(ecdsa_p256(), {}, staple), cert_spec(rsa_2048()))));
    ClientOptions o;
    o.status_request = true;
    CHECK(connect(h, 1, o)->client.ocsp == staple);
    o.sigalgs = "RSA-PSS+SHA256";  // the RSA certificate has no staple
    CHECK(connect(h, 1, o)->client.ocsp.empty());
    CHECK(connect(h, 1, ClientOptions{})->client.ocsp.empty());
}

TEST_CASE("cryptoproc tls: client certificates, allow-lists and CRLs", "[cryptoproc][tls]") {
    auto ca = issue("alice", "URI:spiffe://example.org/ns/prod/sa/alice,DNS:alice.clients.example");
    auto bob = issue_from(ca, "bob", "DNS:bob.other.example");
    auto carol = issue_from(ca, "carol", "DNS:carol.example");
    auto other_ca = issue("someone", "DNS:someone.example");
    auto stranger = issue_from(other_ca, "alice", "DNS:alice.clients.example");  // another CA
    Helperish h;
    ServiceSpec spec = spec_of(1, "api", certs(cert_spec(ecdsa_p256())));
    spec.tls.verify_client = ipc::VerifyPeer::require;
    spec.client_ca_der = der_of_pem(ca.ca.chain_pem);
    spec.tls.allow_cn = {"alice"};
    h.add(spec);

    auto as = [](const Credentials& c, int version = TLS1_3_VERSION) {
        ClientOptions o;
        o.client_chain_pem = c.chain_pem;
        o.client_key_pem = c.key_pem;
        o.max_version = version;
        return o;
    };
    SECTION("allowed: the identity is handed to netproc") {
        auto ok = connect(h, 1, as(ca.leaf));
        const auto& d = done_of(ok->helper);
        CHECK(d.peer_cn == "alice");
        CHECK(d.peer_identity == "CN=alice");
        CHECK(d.peer_spki_sha256 == spki_of(ca.leaf));
        CHECK(d.flags == (ipc::kHandoffPeerCert | ipc::kHandoffPeerVerified));
        CHECK(done_of(connect(h, 1, as(ca.leaf, TLS1_2_VERSION))->helper).peer_cn == "alice");
    }
    SECTION("not on the allow-list: bad_certificate, with the identity in the reason") {
        for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
            auto no = connect(h, 1, as(bob, v), false);
            const auto& f = failed_of(no->helper);
            CHECK(f.reason == ipc::FailReason::alert_sent);
            CHECK(f.alert == SSL_AD_BAD_CERTIFICATE);
            CHECK(contains(f.detail, "client certificate CN=bob, DNS=bob.other.example"));
            CHECK(contains(f.detail, "is not allowed"));
        }
    }
    SECTION("no certificate: certificate_required (TLS 1.3), handshake_failure (TLS 1.2)") {
        auto o13 = connect(h, 1, ClientOptions{}, false);
        const auto& f13 = failed_of(o13->helper);
        CHECK(f13.alert == 116);
        CHECK(contains(f13.detail, "did not return a certificate"));
        ClientOptions o;
        o.max_version = TLS1_2_VERSION;
        CHECK(failed_of(connect(h, 1, o, false)->helper).alert == SSL_AD_HANDSHAKE_FAILURE);
    }
    SECTION("another CA: unknown_ca") {
        auto os = connect(h, 1, as(stranger), false);
        const auto& f = failed_of(os->helper);
        CHECK(f.alert == SSL_AD_UNKNOWN_CA);
        CHECK(contains(f.detail, "client certificate refused: unable to get local issuer"));
    }
    SECTION("DNS, URI and SPKI allow-lists") {
        ServiceSpec s2 = copy_spec(spec);
        s2.id = 2;
        s2.tls.allow_cn.clear();
        s2.tls.allow_uri = {"spiffe://example.org/ns/prod/*"};
        s2.tls.allow_dns = {"*.other.example"};
        s2.tls.allow_spki = {spki_hash(carol)};
        h.add(s2);
        CHECK(done_of(connect(h, 2, as(ca.leaf))->helper).peer_cn == "alice");  // URI
        CHECK(done_of(connect(h, 2, as(bob))->helper).peer_cn == "bob");        // DNS
        CHECK(done_of(connect(h, 2, as(carol))->helper).peer_cn == "carol");    // SPKI
    }
    SECTION("optional: no certificate is let through, a bad one is not") {
        ServiceSpec s3 = copy_spec(spec);
        s3.id = 3;
        s3.tls.verify_client = ipc::VerifyPeer::optional;
        h.add(s3);
        CHECK(done_of(connect(h, 3, ClientOptions{})->helper).flags == 0);
        CHECK(failed_of(connect(h, 3, as(stranger), false)->helper).alert == SSL_AD_UNKNOWN_CA);
    }
    SECTION("a CRL revokes") {
        ServiceSpec s4 = copy_spec(spec);
        s4.id = 4;
        s4.tls.allow_cn.clear();
        s4.crl_der = crl_revoking(ca, bob);
        h.add(s4);
        CHECK(done_of(connect(h, 4, as(ca.leaf))->helper).peer_cn == "alice");
        auto ob = connect(h, 4, as(bob), false);
        const auto& f = failed_of(ob->helper);
        CHECK(f.alert == SSL_AD_CERTIFICATE_REVOKED);
        CHECK(contains(f.detail, "certificate revoked"));
    }
}

TEST_CASE("cryptoproc tls: session tickets resume, counted in the sequence numbers",
          "[cryptoproc][tls]") {
    auto a = issue("a", "DNS:a.example");
    auto b = issue("b", "DNS:b.example");
    Helperish h;
    auto specs = [&](uint32_t id, const std::string& name) {
        return spec_of(id, name,
                       certs(cert_spec(a.leaf, {"a.example"}), cert_spec(b.leaf, {"b.example"})));
    };
    auto keys = ticket_keys({1}, 0);
    REQUIRE(h.add(specs(1, "web")).set_ticket_keys(keys).ok());
    REQUIRE(h.add(specs(2, "api")).set_ticket_keys(keys).ok());
    // The same service as another helper (or another machine) builds it.
    REQUIRE(h.add(specs(3, "web")).set_ticket_keys(keys).ok());

    int version = GENERATE(TLS1_3_VERSION, TLS1_2_VERSION);
    CAPTURE(version);
    ClientOptions o;
    o.sni = "a.example";
    o.max_version = version;
    auto first = connect(h, 1, o);
    const auto& d1 = done_of(first->helper);
    CHECK((d1.flags & ipc::kHandoffResumed) == 0);
    // TLS 1.3: the ticket is a record after the server's Finished.
    CHECK(d1.server_seq == (version == TLS1_3_VERSION ? 1u : 1u));
    REQUIRE(first->session != nullptr);
    CHECK(SSL_SESSION_is_resumable(first->session) == 1);

    auto resume = [&](uint32_t service, const std::string& sni) {
        ClientOptions r = o;
        r.sni = sni;
        r.resume = first->session;
        return connect(h, service, r);
    };
    SECTION("same service, another helper: resumed, data flows") {
        for (uint32_t service : {1u, 3u}) {
            auto again = resume(service, "a.example");
            CHECK(again->client.resumed);
            CHECK((done_of(again->helper).flags & ipc::kHandoffResumed) != 0);
            // TLS 1.3: a resumed session gets a fresh ticket too, a record
            // after the server's Finished (TLS 1.2: data starts at 1).
            CHECK(done_of(again->helper).server_seq == 1u);
        }
    }
    SECTION("another service with the same keys: a full handshake") {
        auto other = resume(2, "a.example");
        CHECK_FALSE(other->client.resumed);
        CHECK((done_of(other->helper).flags & ipc::kHandoffResumed) == 0);
    }
    SECTION("another server name of the same service: a full handshake") {
        auto other = resume(1, "b.example");
        CHECK_FALSE(other->client.resumed);
        CHECK(other->client.peer_cn == "b");
    }
    SECTION("rotation: an older key still opens, a dropped one does not") {
        REQUIRE(h.services.at(1)->set_ticket_keys(ticket_keys({1, 2}, 1)).ok());
        CHECK(resume(1, "a.example")->client.resumed);
        REQUIRE(h.services.at(1)->set_ticket_keys(ticket_keys({2}, 0)).ok());
        CHECK_FALSE(resume(1, "a.example")->client.resumed);
    }
}

TEST_CASE("cryptoproc tls: a resumed session is checked against today's allow-list",
          "[cryptoproc][tls]") {
    auto ca = issue("alice", "DNS:alice.example");
    Helperish h;
    ServiceSpec spec = spec_of(1, "api", certs(cert_spec(ecdsa_p256())));
    spec.tls.verify_client = ipc::VerifyPeer::require;
    spec.client_ca_der = der_of_pem(ca.ca.chain_pem);
    auto keys = ticket_keys({5}, 0);
    REQUIRE(h.add(spec).set_ticket_keys(keys).ok());
    ServiceSpec stricter = copy_spec(spec);
    stricter.id = 2;
    stricter.tls.allow_cn = {"bob"};
    REQUIRE(h.add(stricter).set_ticket_keys(keys).ok());

    ClientOptions o;
    o.client_chain_pem = ca.leaf.chain_pem;
    o.client_key_pem = ca.leaf.key_pem;
    auto first = connect(h, 1, o);
    REQUIRE(first->session);
    o.resume = first->session;
    auto again = connect(h, 1, o);
    CHECK(again->client.resumed);
    const auto& d = done_of(again->helper);
    CHECK(d.peer_cn == "alice");  // the identity comes with the session
    CHECK(d.flags == (ipc::kHandoffPeerCert | ipc::kHandoffPeerVerified | ipc::kHandoffResumed));
    // The same name, now not allowed: no resumption, and the full
    // handshake refuses the certificate.
    auto refused = connect(h, 2, o, false);
    CHECK(failed_of(refused->helper).alert == SSL_AD_BAD_CERTIFICATE);
}

TEST_CASE("cryptoproc tls: the client role verifies the target", "[cryptoproc][tls]") {
    auto server = issue("backend", "DNS:backend.example,IP:127.0.0.1");
    auto other_ca = issue("x", "DNS:x.example");
    auto client_cert = issue("tlsward-client", "DNS:client.example");

    auto client_spec = [&](uint32_t id, const std::string& verify_name) {
        ServiceSpec s;
        s.id = id;
        s.name = "out" + std::to_string(id);
        s.role = ipc::TlsRole::client;
        s.server_ca_der = der_of_pem(server.ca.chain_pem);
        s.tls.server_name = "backend.example";
        s.tls.verify_name = verify_name;
        return s;
    };
    // One connection: the helper connects out over the client end.
    auto run = [&](Helperish& h, uint32_t service, ServerOptions so, bool expect_ok) {
        auto [c, s] = tcp_pair();
        int fl = fcntl(c.get(), F_GETFL);
        fcntl(c.get(), F_SETFL, fl | O_NONBLOCK);
        TestServer ts(std::move(s), so);
        uint64_t job = h.lend(service, c.get());
        HandshakeResult r = std::move(h.wait(job));
        if (expect_ok && std::holds_alternative<ipc::HandshakeDone>(r)) {
            auto path = check_client_data_path(std::get<ipc::HandshakeDone>(r), c.get(), ts);
            INFO((path.ok() ? std::string() : path.message()));
            CHECK(path.ok());
        }
        c.reset();
        ServerResult sr = ts.join();
        return std::make_pair(std::move(r), sr);
    };
    ServerOptions so;
    so.creds = &server.leaf;

    Helperish h;
    h.add(client_spec(1, "backend.example"));
    SECTION("good certificate and name: SNI sent, keys work, both versions") {
        for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
            ServerOptions sv = so;
            sv.max_version = v;
            auto [r, sr] = run(h, 1, sv, true);
            const auto& d = done_of(r);
            CHECK(d.tls_version == (v == TLS1_3_VERSION ? kTls13 : kTls12));
            CHECK(d.peer_cn == "backend");
            CHECK((d.flags & ipc::kHandoffPeerVerified) != 0);
            CHECK(sr.sni == "backend.example");
        }
    }
    SECTION("verification by IP address") {
        h.add(client_spec(2, "127.0.0.1"));
        auto [r, sr] = run(h, 2, so, true);
        CHECK(done_of(r).peer_cn == "backend");
    }
    SECTION("wrong name") {
        h.add(client_spec(2, "wrong.example"));
        auto [r, sr] = run(h, 2, so, false);
        const auto& f = failed_of(r);
        CHECK(f.reason == ipc::FailReason::alert_sent);
        CHECK(f.alert == SSL_AD_BAD_CERTIFICATE);
        CHECK(contains(f.detail, "hostname mismatch"));
        CHECK(contains(f.detail, "expected \"wrong.example\""));
    }
    SECTION("untrusted CA") {
        ServiceSpec s = client_spec(2, "backend.example");
        s.server_ca_der = der_of_pem(other_ca.ca.chain_pem);
        h.add(s);
        auto out = run(h, 2, so, false);
        const auto& f = failed_of(out.first);
        CHECK(f.alert == SSL_AD_UNKNOWN_CA);
        CHECK(contains(f.detail, "server certificate refused: unable to get local issuer"));
    }
    SECTION("SPKI pins") {
        ServiceSpec s = client_spec(2, "backend.example");
        s.tls.pin_spki = {spki_hash(other_ca.leaf)};
        h.add(s);
        auto out = run(h, 2, so, false);
        const auto& f = failed_of(out.first);
        CHECK(f.alert == SSL_AD_BAD_CERTIFICATE);
        CHECK(contains(f.detail, "matches no pin_spki"));
        ServiceSpec pinned = client_spec(3, "backend.example");
        pinned.tls.pin_spki = {spki_hash(other_ca.leaf), spki_hash(server.leaf)};
        h.add(pinned);
        auto ok = run(h, 3, so, true);
        done_of(ok.first);
    }
    SECTION("a client certificate and ALPN") {
        ServiceSpec s = client_spec(2, "backend.example");
        s.certificates.push_back(cert_spec(client_cert.leaf));
        s.tls.alpn = {"h2", "http/1.1"};
        h.add(s);
        ServerOptions sv = so;
        sv.client_ca_pem = client_cert.ca.chain_pem;
        sv.alpn = {"http/1.1"};
        auto [r, sr] = run(h, 2, sv, true);
        CHECK(done_of(r).alpn == "http/1.1");
        CHECK(sr.client_cn == "tlsward-client");
    }
    SECTION("the job's server name overrides the SNI, not the verification") {
        auto [c, s] = tcp_pair();
        int fl = fcntl(c.get(), F_GETFL);
        fcntl(c.get(), F_SETFL, fl | O_NONBLOCK);
        TestServer ts(std::move(s), so);
        uint64_t job = h.lend(1, c.get(), "sni.example");
        const auto& d = done_of(h.wait(job));
        CHECK(check_client_data_path(d, c.get(), ts).ok());
        CHECK(ts.join().sni == "sni.example");
    }
}

TEST_CASE("cryptoproc tls: configuration errors name what is wrong", "[cryptoproc][tls]") {
    REQUIRE(key_export_init().ok());
    ServiceSpec client;
    client.id = 9;
    client.name = "out";
    client.role = ipc::TlsRole::client;
    client.tls.verify_name = "x.example";
    auto no_ca = build_service_context(client);
    REQUIRE_FALSE(no_ca.ok());
    CHECK(contains(no_ca.message(), "no CA"));
    ServiceSpec server = spec_of(1, "web", certs(cert_spec(ecdsa_p256())));
    server.tls.verify_client = ipc::VerifyPeer::require;
    auto no_client_ca = build_service_context(server);
    REQUIRE_FALSE(no_client_ca.ok());
    CHECK(contains(no_client_ca.message(), "no client CA"));
    server.client_ca_der = {0x30, 0x01, 0x00};
    auto bad_ca = build_service_context(server);
    REQUIRE_FALSE(bad_ca.ok());
    CHECK(contains(bad_ca.message(), "CA certificate 1"));
}
