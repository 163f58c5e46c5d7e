// The cipher suites tlsward negotiates and runs: ECDHE with an AEAD only.
// One table shared by the helpers (what to offer, how to export keys) and
// netproc (how to run records), so both agree by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tlsward {

constexpr uint16_t kTls12 = 0x0303;
constexpr uint16_t kTls13 = 0x0304;

enum class Aead : uint8_t { aes128_gcm, aes256_gcm, chacha20_poly1305 };

struct SuiteInfo {
    uint16_t id;       // IANA code point
    uint16_t version;  // kTls12 or kTls13
    Aead aead;
    const char* name;     // IANA name, for logs
    const char* openssl;  // OpenSSL's name (TLS 1.2 cipher list / TLS 1.3 ciphersuites)
    const char* digest;   // suite hash, for HKDF (1.3) and the PRF (1.2)
    size_t hash_len;
    size_t key_len;
    // TLS 1.3 and ChaCha20: the 12-byte IV. TLS 1.2 AES-GCM: the 4-byte salt;
    // the other 8 bytes of the nonce are sent explicitly in each record.
    size_t iv_len;
};

const SuiteInfo* find_suite(uint16_t id);
// Every suite of the table, in preference order (what the helpers offer).
std::span<const SuiteInfo> all_suites();
const char* aead_name(Aead a);
// "TLSv1.3", "TLSv1.2" (OpenSSL's spelling, for logs), "?" for anything else.
const char* tls_version_name(uint16_t version);
// Bit of ipc::AeadBits for an AEAD.
uint8_t aead_bit(Aead a);

constexpr size_t kAeadTagLen = 16;
constexpr size_t kAeadNonceLen = 12;
constexpr size_t kTls12ExplicitNonceLen = 8;
constexpr size_t kMaxKeyLen = 32;
constexpr size_t kMaxHashLen = 48;

}  // namespace tlsward
