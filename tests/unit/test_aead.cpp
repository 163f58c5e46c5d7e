// netproc/aead: the EVP AEAD wrapper on its own, with known answers.
#include "netproc/aead.hpp"

#include <algorithm>

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;

namespace {

Nonce nonce_of(std::string_view h) {
    auto b = unhex(h);
    REQUIRE(b.size() == kAeadNonceLen);
    Nonce n{};
    std::copy(b.begin(), b.end(), n.begin());
    return n;
}

struct Kat {
    const char* name;
    Aead aead;
    const char* key;
    const char* nonce;
    const char* aad;  // TLS 1.3: the record header; TLS 1.2: seq || type || version || length
    Bytes plaintext;
    const char* sealed;  // ciphertext || tag
};

// AES-128-GCM: RFC 8448 section 3, the server's application data record
// (seq 1: nonce = iv cf782b88dd83549aadf1e984 XOR 1; inner plaintext
// 00..31 || 0x17). AES-256-GCM and ChaCha20-Poly1305: the TLS 1.2 records
// of test_record_layer_tls12.cpp (Python `cryptography`, see there).
std::vector<Kat> kats() {
    Bytes rfc_inner = pattern(0);
    for (uint8_t i = 0; i < 50; ++i) rfc_inner.push_back(i);
    rfc_inner.push_back(0x17);
    return {
        {"AES-128-GCM (RFC 8448)", Aead::aes128_gcm, "9f02283b6c9c07efc26bb9f2ac92e356",
         "cf782b88dd83549aadf1e985", "1703030043", rfc_inner,
         "2e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8"
         "fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d"},
        {"AES-256-GCM", Aead::aes256_gcm,
         "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
         "d0d1d2d30000000000000001",
         "0000000000000001170303"
         "0022",
         bytes_of("tlsward TLS 1.2 AES-256-GCM record"),
         "bee9d8b053fe4a30972c5c497b9d857ce6bd01e43f80a0e3670f5382365c524e3827b3b3d1682df008f4d926"
         "724145836316"},
        {"ChaCha20-Poly1305", Aead::chacha20_poly1305,
         "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
         "d0d1d2d3d4d5d6d7d8d9dada",
         "0000000000000001170303"
         "0028",
         bytes_of("tlsward TLS 1.2 ChaCha20-Poly1305 record"),
         "cbd15072ef3e34f723a3520c02d0e2451b5a23a54d3f277865b6fdbc201a7ac1ea45c69c3117144a0616e0cd"
         "b8efaaf1cf1cbb8c1d4380e1"},
    };
}

}  // namespace

TEST_CASE("aead: known answers, sealed in place and opened in place", "[aead][record]") {
    REQUIRE(prefetch_aead_ciphers().ok());
    for (const auto& k : kats()) {
        INFO(k.name);
        auto key = unhex(k.key);
        auto aad = unhex(k.aad);
        auto expected = unhex(k.sealed);
        AeadCipher enc;
        REQUIRE(enc.set_key(k.aead, true, key).ok());
        Bytes buf = k.plaintext;
        std::array<uint8_t, kAeadTagLen> tag{};
        REQUIRE(enc.seal(nonce_of(k.nonce), aad, buf, buf, tag).ok());
        CHECK(hex(concat({buf, tag})) == hex(expected));

        AeadCipher dec;
        REQUIRE(dec.set_key(k.aead, false, key).ok());
        REQUIRE(dec.open(nonce_of(k.nonce), aad, buf, buf, tag));
        CHECK(buf == k.plaintext);
    }
}

TEST_CASE("aead: separate output buffer gives the same bytes", "[aead][record]") {
    auto key = unhex("000102030405060708090a0b0c0d0e0f");
    AeadCipher enc;
    REQUIRE(enc.set_key(Aead::aes128_gcm, true, key).ok());
    Bytes pt = pattern(1000, 3);
    Bytes out(pt.size());
    std::array<uint8_t, kAeadTagLen> tag1{}, tag2{};
    Nonce n = nonce_of("000000000000000000000001");
    REQUIRE(enc.seal(n, {}, pt, out, tag1).ok());
    Bytes inplace = pt;
    REQUIRE(enc.seal(n, {}, inplace, inplace, tag2).ok());
    CHECK(out == inplace);
    CHECK(tag1 == tag2);
}

TEST_CASE("aead: a bad tag, AAD or nonce fails and leaves no plaintext", "[aead][record]") {
    for (Aead a : {Aead::aes128_gcm, Aead::aes256_gcm, Aead::chacha20_poly1305}) {
        INFO(aead_name(a));
        Bytes key(a == Aead::aes128_gcm ? 16 : 32, 0x5a);
        AeadCipher enc, dec;
        REQUIRE(enc.set_key(a, true, key).ok());
        REQUIRE(dec.set_key(a, false, key).ok());
        Nonce n = nonce_of("0102030405060708090a0b0c");
        Bytes aad = bytes_of("header");
        Bytes ct = bytes_of("attack at dawn, bring snacks");
        std::array<uint8_t, kAeadTagLen> tag{};
        REQUIRE(enc.seal(n, aad, ct, ct, tag).ok());

        auto bad_tag = tag;
        bad_tag[7] ^= 1;
        Bytes out(ct.size(), 0xee);
        CHECK_FALSE(dec.open(n, aad, ct, out, bad_tag));
        CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));

        CHECK_FALSE(dec.open(n, bytes_of("headeR"), ct, out, tag));
        Nonce other = n;
        other[11] ^= 1;
        CHECK_FALSE(dec.open(other, aad, ct, out, tag));
        // The context still works after failures.
        REQUIRE(dec.open(n, aad, ct, out, tag));
        CHECK(out == bytes_of("attack at dawn, bring snacks"));
    }
}

TEST_CASE("aead: empty plaintext still carries a tag", "[aead][record]") {
    Bytes key(32, 7);
    AeadCipher enc, dec;
    REQUIRE(enc.set_key(Aead::chacha20_poly1305, true, key).ok());
    REQUIRE(dec.set_key(Aead::chacha20_poly1305, false, key).ok());
    Nonce n{};
    std::array<uint8_t, kAeadTagLen> tag{};
    REQUIRE(enc.seal(n, bytes_of("aad"), {}, {}, tag).ok());
    CHECK(dec.open(n, bytes_of("aad"), {}, {}, tag));
    tag[0] ^= 0x80;
    CHECK_FALSE(dec.open(n, bytes_of("aad"), {}, {}, tag));
}

TEST_CASE("aead: re-keying replaces the key; misuse is refused", "[aead][record]") {
    AeadCipher c;
    Nonce n{};
    std::array<uint8_t, kAeadTagLen> tag1{}, tag2{};
    Bytes buf(4, 0);
    CHECK_FALSE(c.seal(n, {}, buf, buf, tag1).ok());  // no key yet
    CHECK_FALSE(c.set_key(Aead::aes128_gcm, true, Bytes(15, 1)).ok());
    REQUIRE(c.set_key(Aead::aes128_gcm, true, Bytes(16, 1)).ok());
    REQUIRE(c.seal(n, {}, buf, buf, tag1).ok());
    REQUIRE(c.set_key(Aead::aes128_gcm, true, Bytes(16, 2)).ok());
    Bytes buf2(4, 0);
    REQUIRE(c.seal(n, {}, buf2, buf2, tag2).ok());
    CHECK(buf != buf2);
    CHECK(tag1 != tag2);
    Bytes mismatched(3);
    CHECK_FALSE(c.seal(n, {}, buf, mismatched, tag1).ok());
    CHECK_FALSE(c.open(n, {}, buf, buf, tag1));  // an encrypting context does not open
    // Switching AEAD on the same object works too.
    REQUIRE(c.set_key(Aead::chacha20_poly1305, false, Bytes(32, 3)).ok());
    CHECK(c.has_key());
}

TEST_CASE("aead: a released context comes back with the same key", "[aead][record]") {
    REQUIRE(prefetch_aead_ciphers().ok());
    for (const auto& k : kats()) {
        INFO(k.name);
        auto key = unhex(k.key);
        auto aad = unhex(k.aad);
        auto expected = unhex(k.sealed);
        AeadCipher enc;
        AeadCipher dec;
        REQUIRE(enc.set_key(k.aead, true, key).ok());
        REQUIRE(dec.set_key(k.aead, false, key).ok());
        CHECK(enc.has_context());
        // Idle: both give their contexts back; the next record rebuilds
        // them, several times over, with the same answers.
        for (int round = 0; round < 3; ++round) {
            enc.release_context();
            dec.release_context();
            CHECK_FALSE(enc.has_context());
            CHECK(enc.has_key());
            Bytes buf = k.plaintext;
            std::array<uint8_t, kAeadTagLen> tag{};
            REQUIRE(enc.seal(nonce_of(k.nonce), aad, buf, buf, tag).ok());
            CHECK(hex(concat({buf, tag})) == hex(expected));
            REQUIRE(dec.open(nonce_of(k.nonce), aad, buf, buf, tag));
            CHECK(buf == k.plaintext);
            CHECK(dec.has_context());
        }
        // A re-key while released takes the new key.
        enc.release_context();
        auto other = key;
        other[0] ^= 1;
        REQUIRE(enc.set_key(k.aead, true, other).ok());
        Bytes buf = k.plaintext;
        std::array<uint8_t, kAeadTagLen> tag{};
        REQUIRE(enc.seal(nonce_of(k.nonce), aad, buf, buf, tag).ok());
        CHECK(hex(concat({buf, tag})) != hex(expected));
        // A moved-from cipher has no key left to rebuild from.
        AeadCipher moved = std::move(enc);
        CHECK_FALSE(enc.has_key());  // NOLINT(bugprone-use-after-move): the point of the check
        CHECK(moved.has_key());
    }
}
