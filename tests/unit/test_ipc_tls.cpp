// IPC bodies of the TLS features: CP_SERVICE's TLS settings, certificates
// with names and OCSP staples, trust material, ticket keys, NP_SERVICE's
// PROXY settings and the peer identity in HANDSHAKE_DONE.
#include <catch2/catch.hpp>

#include "common/tls_suites.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"

using namespace tlsward;
using namespace tlsward::ipc;

namespace {

template <class T>
T round_trip(const T& m) {
    auto body = encode_body(m).value();
    auto back = decode_body<T>(body);
    REQUIRE(back.ok());
    return std::move(back.value());
}

Sha256 hash_of(uint8_t v) {
    Sha256 h{};
    h.fill(v);
    return h;
}

HandshakeDone done_with_peer() {
    HandshakeDone d;
    d.tls_version = kTls13;
    d.cipher_suite = 0x1301;
    d.client_secret = SecretBytes(32);
    d.server_secret = SecretBytes(32);
    d.peer_identity = "CN=alice,O=Example";
    d.peer_cn = "alice";
    d.peer_spki_sha256.assign(32, 0xab);
    d.flags = kHandoffPeerCert | kHandoffPeerVerified;
    return d;
}

}  // namespace

TEST_CASE("CP_SERVICE carries the TLS policy", "[ipc]") {
    CpService s{7, "api", TlsRole::server, 5000};
    s.tls.verify_client = VerifyPeer::optional;
    s.tls.unknown_sni = UnknownSni::refuse;
    s.tls.allow_cn = {"alice", "bob"};
    s.tls.allow_dns = {"*.clients.example"};
    s.tls.allow_uri = {"spiffe://example.org/ns/prod/*"};
    s.tls.allow_spki = {hash_of(1), hash_of(2)};
    s.tls.session_tickets = false;
    s.tls.session_lifetime_s = 600;
    s.tls.server_name = "backend.example";
    s.tls.verify_name = "10.0.0.1";
    s.tls.pin_spki = {hash_of(3)};
    s.tls.alpn = {"h2", "http/1.1"};
    auto back = round_trip(s);
    CHECK(back.id == 7);
    CHECK(back.tls == s.tls);
}

TEST_CASE("CP_CERTIFICATE, CP_TRUST and CP_TICKET_KEYS round-trip", "[ipc]") {
    CpCertificate c;
    c.service_id = 2;
    c.chain_pem = "-----BEGIN CERTIFICATE-----\n...";
    c.key_pem = SecretBytes(as_bytes("-----BEGIN PRIVATE KEY-----\n..."));
    c.names = {"www.example.com", "*.example.com"};
    c.ocsp_der = {0x30, 0x03, 0x0a, 0x01, 0x00};
    auto c2 = round_trip(c);
    CHECK(c2.names == c.names);
    CHECK(c2.ocsp_der == c.ocsp_der);

    CpTrust t;
    t.service_id = 2;
    t.kind = TrustKind::crl;
    t.der.assign(1000, 0x30);
    auto t2 = round_trip(t);
    CHECK(t2.kind == TrustKind::crl);
    CHECK(t2.der == t.der);

    CpTicketKeys k;
    k.keys.push_back(SecretBytes(80));
    k.keys.push_back(SecretBytes(48));
    k.keys[0].data()[0] = 9;
    k.encrypt_index = 1;
    auto k2 = round_trip(k);
    REQUIRE(k2.keys.size() == 2);
    CHECK(k2.keys[0].data()[0] == 9);
    CHECK(k2.keys[1].size() == 48);
    CHECK(k2.encrypt_index == 1);
}

TEST_CASE("NP_SERVICE carries the PROXY settings and the SNI", "[ipc]") {
    NpService s;
    s.id = 1;
    s.name = "web";
    s.target = parse_numeric_address("127.0.0.1:80").value();
    s.proxy_protocol = ProxyVersion::v2;
    s.accept_proxy = true;
    s.server_name = "backend.example";
    auto back = round_trip(s);
    CHECK(back.proxy_protocol == ProxyVersion::v2);
    CHECK(back.accept_proxy);
    CHECK(back.server_name == "backend.example");
}

TEST_CASE("HANDSHAKE_DONE carries the peer's identity", "[ipc]") {
    auto back = round_trip(done_with_peer());
    CHECK(back.peer_identity == "CN=alice,O=Example");
    CHECK(back.peer_cn == "alice");
    CHECK(back.peer_spki_sha256 == std::vector<uint8_t>(32, 0xab));
    CHECK(back.flags == (kHandoffPeerCert | kHandoffPeerVerified));
    HandshakeDone none = done_with_peer();
    none.peer_spki_sha256.clear();
    CHECK(round_trip(none).peer_spki_sha256.empty());
}

TEST_CASE("malformed TLS bodies are refused", "[ipc]") {
    SECTION("an SPKI hash that is not 32 bytes") {
        HandshakeDone d = done_with_peer();
        d.peer_spki_sha256.assign(31, 1);
        CHECK_FALSE(decode_body<HandshakeDone>(encode_body(d).value()).ok());
    }
    SECTION("unknown hand-off flags") {
        HandshakeDone d = done_with_peer();
        d.flags = 0x80;
        CHECK_FALSE(decode_body<HandshakeDone>(encode_body(d).value()).ok());
    }
    SECTION("a CN longer than a certificate allows") {
        HandshakeDone d = done_with_peer();
        d.peer_cn.assign(kMaxPeerCn + 1, 'a');
        CHECK_FALSE(decode_body<HandshakeDone>(encode_body(d).value()).ok());
    }
    SECTION("ticket keys: none, a wrong size, a sealing index out of range") {
        CpTicketKeys k;
        CHECK_FALSE(decode_body<CpTicketKeys>(encode_body(k).value()).ok());
        k.keys.push_back(SecretBytes(32));
        CHECK_FALSE(decode_body<CpTicketKeys>(encode_body(k).value()).ok());
        k.keys[0] = SecretBytes(80);
        k.encrypt_index = 1;
        CHECK_FALSE(decode_body<CpTicketKeys>(encode_body(k).value()).ok());
    }
    SECTION("trust of an unknown kind, or empty") {
        CpTrust t;
        t.der = {0x30};
        auto body = encode_body(t).value();
        body[4] = 9;
        CHECK_FALSE(decode_body<CpTrust>(body).ok());
        t.der.clear();
        CHECK_FALSE(decode_body<CpTrust>(encode_body(t).value()).ok());
    }
    SECTION("enums out of range in CP_SERVICE and NP_SERVICE") {
        CpService s{1, "a", TlsRole::server, 1};
        auto body = encode_body(s).value();
        body[4 + 2 + 1 + 1 + 4] = 3;  // verify_client
        CHECK_FALSE(decode_body<CpService>(body).ok());
        NpService n;
        n.target = parse_numeric_address("127.0.0.1:80").value();
        n.server_name = "x";
        auto nb = encode_body(n).value();
        nb[nb.size() - 4] = 3;  // proxy_protocol
        CHECK_FALSE(decode_body<NpService>(nb).ok());
    }
    SECTION("an empty ALPN name") {
        CpService s{1, "a", TlsRole::server, 1};
        s.tls.alpn = {""};
        CHECK_FALSE(decode_body<CpService>(encode_body(s).value()).ok());
    }
}
