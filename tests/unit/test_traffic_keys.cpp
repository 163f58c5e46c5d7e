// netproc/traffic_keys: HKDF-Expand-Label, key/iv derivation, "traffic upd",
// the TLS 1.2 key block split and nonces.
#include "netproc/traffic_keys.hpp"

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;

namespace {

// RFC 8448 section 3, "{server} derive write traffic keys for application
// data" and "{client} derive write traffic keys for application data".
const char* kRfcServerSecret =
    "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 "
    "82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";
const char* kRfcServerKey = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
const char* kRfcServerIv = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
const char* kRfcClientSecret =
    "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 "
    "87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";
const char* kRfcClientKey = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
const char* kRfcClientIv = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";

const SuiteInfo& suite(uint16_t id) {
    const SuiteInfo* s = find_suite(id);
    REQUIRE(s != nullptr);
    return *s;
}

}  // namespace

TEST_CASE("traffic keys: RFC 8448 application traffic keys and IVs", "[traffic_keys][record]") {
    REQUIRE(prefetch_kdf().ok());
    const auto& aes128 = suite(0x1301);
    auto server = tls13_traffic_keys(aes128, unhex(kRfcServerSecret));
    REQUIRE(server.ok());
    CHECK(hex(server->key.view()) == hex(unhex(kRfcServerKey)));
    CHECK(server->iv_len == 12);
    CHECK(hex(server->iv) == hex(unhex(kRfcServerIv)));
    auto client = tls13_traffic_keys(aes128, unhex(kRfcClientSecret));
    REQUIRE(client.ok());
    CHECK(hex(client->key.view()) == hex(unhex(kRfcClientKey)));
    CHECK(hex(client->iv) == hex(unhex(kRfcClientIv)));
}

TEST_CASE("traffic keys: HKDF-Expand-Label with a context and lengths", "[traffic_keys][record]") {
    const auto& aes128 = suite(0x1301);
    // RFC 8448 section 3: "{server} derive secret "tls13 s ap traffic""
    // (master secret PRK, transcript hash as context).
    auto master = unhex(
        "18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c 62 79 84 d5 a4 1d a8 "
        "d0 40 29 19");
    auto hash = unhex(
        "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 "
        "ff 83 df 13");
    Bytes out(32);
    REQUIRE(hkdf_expand_label(aes128, master, "s ap traffic", hash, out).ok());
    CHECK(hex(out) == hex(unhex(kRfcServerSecret)));
    REQUIRE(hkdf_expand_label(aes128, master, "c ap traffic", hash, out).ok());
    CHECK(hex(out) == hex(unhex(kRfcClientSecret)));
    // Wrong secret length for the suite's hash.
    CHECK_FALSE(hkdf_expand_label(aes128, Bytes(48, 1), "key", {}, out).ok());
    CHECK_FALSE(hkdf_expand_label(aes128, master, std::string(250, 'x'), {}, out).ok());
}

// Expected values computed independently with Python (hmac from the
// `cryptography` package, the HKDF-Expand-Label of the hand-off prototypes):
//
//   def hkdf_expand_label(secret, label, ctx, length, h):
//       full = b"tls13 " + label
//       info = struct.pack(">H", length) + bytes([len(full)]) + full + bytes([len(ctx)]) + ctx
//       out = b""; t = b""; i = 1
//       while len(out) < length:
//           m = hmac.HMAC(secret, h); m.update(t + info + bytes([i]))
//           t = m.finalize(); out += t; i += 1
//       return out[:length]
//   s1 = hkdf_expand_label(secret, b"traffic upd", b"", hash_len, h)
//
// The client value also appears in Botan's RFC 8448 tests
// ("application traffic secret (1) for the client").
TEST_CASE("traffic keys: KeyUpdate secrets (\"traffic upd\") match Python",
          "[traffic_keys][record]") {
    struct Case {
        uint16_t suite;
        Bytes secret;
        const char* next;
        const char* next2;  // second generation, or ""
        const char* key1;
        const char* iv1;
    };
    Bytes seq384;
    for (uint8_t i = 1; i <= 48; ++i) seq384.push_back(i);
    Bytes seq_chacha;
    for (uint8_t i = 0x40; i < 0x60; ++i) seq_chacha.push_back(i);
    std::vector<Case> cases = {
        {0x1301, unhex(kRfcServerSecret),
         "51921b8aa3001976eb401d0a4319a8516416a6c56001a357e5d162031e84f916",
         "6418ddd5d277cde37bfaae96363a805a95abfaa55ccd80713848de187fb082f6",
         "2e63be99d67b39097feb9786cf7a15a0", "628a0a8298ac953baef4255a"},
        {0x1301, unhex(kRfcClientSecret),
         "fcdfcc72725aaee48bf64e4fd8b749cdbdbab39d90da0b26e2245ca6ea167207",
         "68474fe58c172143d0a009a76edd231b0d934f3058588ea0852662279e54a573",
         "3879d82f5f14056e623f2ce5bfc66fce", "5dfb2c5938c3379b6cc5d1f2"},
        {0x1302, seq384,
         "9e4bc452eeb9e7499109414487d6da7ce8db5b1aa75c7ef63008edb44e0dfbe3f7e1d8689e00d4e5859bb784f"
         "6"
         "37fb74",
         "", "e7d1deaa841e504d7886b711254ba23d01846a56948fe67a0f390e5cca417170",
         "722e87897bd5f57cb7ef3884"},
        {0x1303, seq_chacha, "e8fc7f681aa59e59a6da531ad5b59f2b7ed21605445b04dcbe4727655950a3cf", "",
         "69dcc03d66d279c9835a358e310256700bba7d9de24d6b33418e67ea72cd3e91",
         "ffd690a21c8451d6e781c5b3"},
    };
    for (const auto& c : cases) {
        INFO(suite(c.suite).name);
        auto next = tls13_next_traffic_secret(suite(c.suite), c.secret);
        REQUIRE(next.ok());
        CHECK(hex(next->view()) == c.next);
        auto keys = tls13_traffic_keys(suite(c.suite), next->view());
        REQUIRE(keys.ok());
        CHECK(hex(keys->key.view()) == c.key1);
        CHECK(hex(keys->iv) == c.iv1);
        if (*c.next2) {
            auto next2 = tls13_next_traffic_secret(suite(c.suite), next->view());
            REQUIRE(next2.ok());
            CHECK(hex(next2->view()) == c.next2);
        }

        // The same steps through a DirectionKeys, as the record layer runs them.
        DirectionKeys dir;
        REQUIRE(dir.init(suite(c.suite), true, c.secret, 5).ok());
        CHECK(dir.records_under_key == 5);
        REQUIRE(apply_key_update(dir).ok());
        CHECK(hex(dir.traffic_secret()) == c.next);
        CHECK(dir.records_under_key == 0);
        CHECK(dir.seq == 0);  // RFC 8446 5.3: a new key starts at sequence number 0
    }
}

TEST_CASE("traffic keys: TLS 1.2 key material split and nonces", "[traffic_keys][record]") {
    auto gcm =
        tls12_traffic_keys(suite(0xC02B), unhex("000102030405060708090a0b0c0d0e0f a0a1a2a3"));
    REQUIRE(gcm.ok());
    CHECK(hex(gcm->key.view()) == "000102030405060708090a0b0c0d0e0f");
    CHECK(gcm->iv_len == 4);
    CHECK(hex(std::span(gcm->iv).first(4)) == "a0a1a2a3");
    CHECK_FALSE(tls12_traffic_keys(suite(0xC02B), Bytes(32, 0)).ok());
    CHECK_FALSE(tls12_traffic_keys(suite(0x1301), Bytes(20, 0)).ok());
    CHECK_FALSE(tls13_traffic_keys(suite(0xC02B), Bytes(32, 0)).ok());

    Bytes km(44);
    for (size_t i = 0; i < km.size(); ++i) km[i] = static_cast<uint8_t>(i);
    auto chacha = tls12_traffic_keys(suite(0xCCA9), km);
    REQUIRE(chacha.ok());
    CHECK(chacha->key.size() == 32);
    CHECK(chacha->iv_len == 12);
    CHECK(hex(chacha->iv) == "202122232425262728292a2b");

    // RFC 8446 5.3 / RFC 7905: iv XOR the 64-bit sequence number, left-padded.
    auto iv = unhex(kRfcServerIv);
    std::array<uint8_t, 12> iva{};
    std::copy(iv.begin(), iv.end(), iva.begin());
    CHECK(hex(xor_nonce(iva, 0)) == "cf782b88dd83549aadf1e984");
    CHECK(hex(xor_nonce(iva, 1)) == "cf782b88dd83549aadf1e985");
    CHECK(hex(xor_nonce(iva, 0x0102030405060708ULL)) == "cf782b88dc81579ea8f7ee8c");
    // RFC 5288 3: salt || explicit nonce.
    std::array<uint8_t, 4> salt{0xa0, 0xa1, 0xa2, 0xa3};
    std::array<uint8_t, 8> expl{0, 0, 0, 0, 0, 0, 0, 9};
    CHECK(hex(gcm_nonce(salt, expl)) == "a0a1a2a30000000000000009");

    DirectionKeys dir;
    REQUIRE(
        dir.init(suite(0xC02B), true, unhex("000102030405060708090a0b0c0d0e0f a0a1a2a3"), 1).ok());
    CHECK(hex(dir.record_nonce(7)) == "a0a1a2a30000000000000007");
    CHECK_FALSE(apply_key_update(dir).ok());  // TLS 1.2 has no KeyUpdate
}
