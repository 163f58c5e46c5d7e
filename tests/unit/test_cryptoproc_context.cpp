// SSL_CTX building, cipher strings per AEAD mask, key log parsing and the
// TLS 1.2 key block.
#include <catch2/catch.hpp>

#include <string>

#include "common/hex.hpp"
#include "cryptoproc/key_export.hpp"
#include "cryptoproc/tls_context.hpp"
#include "test_cryptoproc_support.hpp"

using namespace tlsward;
using namespace tlsward::cryptoproc;
using namespace tlsward::cptest;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("cryptoproc: service contexts from PEM in memory", "[cryptoproc]") {
    SECTION("ECDSA, RSA, both, and a chain build") {
        CHECK(build_service_context(server_spec(1, "a", {&ecdsa_p256()})).ok());
        CHECK(build_service_context(server_spec(1, "b", {&rsa_2048()})).ok());
        CHECK(build_service_context(server_spec(1, "c", {&ecdsa_p256(), &rsa_2048()})).ok());
        CHECK(build_service_context(server_spec(1, "d", {&ecdsa_with_ca()})).ok());
    }
    SECTION("a key that does not match the certificate") {
        Credentials mixed = ecdsa_p256();
        mixed.key_pem = rsa_2048().key_pem;
        auto r = build_service_context(server_spec(3, "web", {&mixed}));
        REQUIRE_FALSE(r.ok());
        CHECK(contains(r.message(), "service web (id 3)"));
        CHECK(contains(r.message(), "does not match"));
    }
    SECTION("garbage instead of a certificate") {
        Credentials bad = ecdsa_p256();
        bad.chain_pem = "not a certificate";
        auto r = build_service_context(server_spec(1, "web", {&bad}));
        REQUIRE_FALSE(r.ok());
        CHECK(contains(r.message(), "certificate chain"));
    }
    SECTION("garbage instead of a key") {
        Credentials bad = ecdsa_p256();
        bad.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        auto r = build_service_context(server_spec(1, "web", {&bad}));
        REQUIRE_FALSE(r.ok());
        CHECK(contains(r.message(), "private key"));
    }
    SECTION("no certificate, two of one key type") {
        CHECK_FALSE(build_service_context(server_spec(1, "web", {})).ok());
        auto r = build_service_context(server_spec(1, "web", {&ecdsa_p256(), &ecdsa_with_ca()}));
        REQUIRE_FALSE(r.ok());
        CHECK(contains(r.message(), "both have a EC key for the default server name"));
    }
    SECTION("the settings tlsward relies on") {
        auto r = build_service_context(server_spec(1, "web", {&ecdsa_p256()}));
        REQUIRE(r.ok());
        SSL_CTX* ctx = (*r)->ctx.get();
        uint64_t opts = SSL_CTX_get_options(ctx);
        CHECK((opts & SSL_OP_NO_RENEGOTIATION) != 0);
        CHECK((opts & SSL_OP_NO_COMPRESSION) != 0);
        CHECK((opts & SSL_OP_NO_TICKET) != 0);
        CHECK(SSL_CTX_get_num_tickets(ctx) == 0);
        CHECK(SSL_CTX_get_max_early_data(ctx) == 0);
        // 0-RTT refused, but skipped (RFC 8446 4.2.10): 0 here made OpenSSL
        // abort a client that tried it ("too much early data").
        CHECK(SSL_CTX_get_recv_max_early_data(ctx) == 16384);
        CHECK(SSL_CTX_get_read_ahead(ctx) == 0);
        CHECK(SSL_CTX_get_session_cache_mode(ctx) == SSL_SESS_CACHE_OFF);
        CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
        CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_3_VERSION);
    }
}

TEST_CASE("cryptoproc: cipher strings per AEAD mask", "[cryptoproc]") {
    const CipherStrings& all = cipher_strings(ipc::kAeadAll);
    CHECK(all.tls13 ==
          "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    CHECK(all.tls12 ==
          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
          "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    const CipherStrings& chacha = cipher_strings(ipc::kAeadChaCha20Poly1305);
    CHECK(chacha.tls13 == "TLS_CHACHA20_POLY1305_SHA256");
    CHECK(chacha.tls12 == "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    CHECK(&cipher_strings(ipc::kAeadChaCha20Poly1305) == &chacha);  // cached
    const CipherStrings& aes128 = cipher_strings(ipc::kAeadAes128Gcm);
    CHECK(aes128.tls13 == "TLS_AES_128_GCM_SHA256");
    CHECK(aes128.tls12 == "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
}

TEST_CASE("cryptoproc: key log lines", "[cryptoproc]") {
    std::string random(64, 'a');
    std::vector<uint8_t> random_bytes(32, 0xaa);
    std::string secret32(64, '1');
    SECTION("both traffic secrets, other labels ignored") {
        KeyCapture k;
        k.on_line("CLIENT_HANDSHAKE_TRAFFIC_SECRET " + random + " " + secret32, random_bytes);
        k.on_line("EXPORTER_SECRET " + random + " " + secret32, random_bytes);
        k.on_line("CLIENT_TRAFFIC_SECRET_0 " + random + " " + secret32, random_bytes);
        k.on_line("SERVER_TRAFFIC_SECRET_0 " + random + " " + std::string(96, 'F'), random_bytes);
        CHECK_FALSE(k.malformed());
        CHECK(hex_encode(k.client_traffic().view()) == secret32);
        CHECK(k.server_traffic().size() == 48);
        CHECK(k.server_traffic().data()[47] == 0xff);
        k.wipe();
        CHECK(k.client_traffic().empty());
    }
    SECTION("a line for another connection") {
        KeyCapture k;
        k.on_line("CLIENT_TRAFFIC_SECRET_0 " + std::string(64, 'b') + " " + secret32, random_bytes);
        CHECK(k.malformed());
        CHECK(k.client_traffic().empty());
    }
    SECTION("bad hex, odd length, extra field, too long, twice") {
        for (std::string bad : {std::string(63, '1') + "x", std::string(63, '1'),
                                secret32 + " extra", std::string(130, '1')}) {
            KeyCapture k;
            k.on_line("SERVER_TRAFFIC_SECRET_0 " + random + " " + bad);
            CHECK(k.malformed());
        }
        KeyCapture k;
        k.on_line("SERVER_TRAFFIC_SECRET_0 " + random + " " + secret32);
        k.on_line("SERVER_TRAFFIC_SECRET_0 " + random + " " + secret32);
        CHECK(k.malformed());
    }
}

TEST_CASE("cryptoproc: TLS 1.2 key block matches an independent PRF", "[cryptoproc]") {
    REQUIRE(key_export_init().ok());
    std::vector<uint8_t> master(48), sr(32), cr(32);
    for (size_t i = 0; i < 48; ++i) master[i] = static_cast<uint8_t>(i * 7 + 1);
    for (size_t i = 0; i < 32; ++i) {
        sr[i] = static_cast<uint8_t>(i);
        cr[i] = static_cast<uint8_t>(255 - i);
    }
    std::vector<uint8_t> seed = sr;
    seed.insert(seed.end(), cr.begin(), cr.end());
    for (const char* digest : {"SHA256", "SHA384"}) {
        CAPTURE(digest);
        auto block = tls12_key_block(digest, master, sr, cr, 88);
        REQUIRE(block.ok());
        CHECK(to_vector(block->view()) == reference_prf(digest, master, "key expansion", seed, 88));
    }
}
