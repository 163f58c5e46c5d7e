// Record protection keys after a hand-off: the TLS 1.3 key schedule steps
// netproc runs itself (RFC 8446 section 7.1 HKDF-Expand-Label, 7.2 "traffic
// upd", 7.3 "key"/"iv"), the TLS 1.2 AEAD key-block split (RFC 5246 6.3,
// RFC 5288, RFC 7905), per-record nonces, and the state of one direction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "common/tls_suites.hpp"
#include "netproc/aead.hpp"

namespace tlsward::netproc {

// Fetches the TLS13-KDF (and sets up its per-digest contexts) if not done
// yet. netproc calls it at start-up, next to prefetch_aead_ciphers().
Status prefetch_kdf();

// HKDF-Expand-Label(secret, label, context, out.size()) with the suite's
// hash; `label` is without the "tls13 " prefix.
Status hkdf_expand_label(const SuiteInfo& suite, std::span<const uint8_t> secret,
                         std::string_view label, std::span<const uint8_t> context,
                         std::span<uint8_t> out);

// A write key and IV. iv holds iv_len bytes: 12 (TLS 1.3, ChaCha20) or the
// 4-byte salt of TLS 1.2 AES-GCM. Wiped on destruction.
struct TrafficKeys {
    SecretBytes key;
    std::array<uint8_t, kAeadNonceLen> iv{};
    size_t iv_len = 0;

    TrafficKeys() = default;
    ~TrafficKeys();
    TrafficKeys(TrafficKeys&&) noexcept = default;
    TrafficKeys& operator=(TrafficKeys&&) noexcept = default;
    TrafficKeys(const TrafficKeys&) = delete;
    TrafficKeys& operator=(const TrafficKeys&) = delete;
};

// TLS 1.3: [sender]_write_key and [sender]_write_iv of a traffic secret.
Result<TrafficKeys> tls13_traffic_keys(const SuiteInfo& suite, std::span<const uint8_t> secret);
// TLS 1.3: application_traffic_secret_N+1 from _N (the KeyUpdate step).
Result<SecretBytes> tls13_next_traffic_secret(const SuiteInfo& suite,
                                              std::span<const uint8_t> secret);
// TLS 1.2: one writer's share of the key block, write_key || write_IV.
Result<TrafficKeys> tls12_traffic_keys(const SuiteInfo& suite, std::span<const uint8_t> key_and_iv);

using Nonce = std::array<uint8_t, kAeadNonceLen>;
// iv XOR the sequence number left-padded to 12 bytes (RFC 8446 5.3,
// RFC 7905 section 2).
Nonce xor_nonce(std::span<const uint8_t, kAeadNonceLen> iv, uint64_t seq);
// TLS 1.2 AES-GCM: the 4-byte salt followed by the explicit part (RFC 5288 3).
Nonce gcm_nonce(std::span<const uint8_t, 4> salt,
                std::span<const uint8_t, kTls12ExplicitNonceLen> explicit_nonce);

// Big-endian helpers for building headers, AAD and nonces (our own bytes;
// bytes from the peer are read with ByteReader).
void store_be16(std::span<uint8_t, 2> out, uint16_t v);
void store_be64(std::span<uint8_t, 8> out, uint64_t v);

// One direction of a connection: its AEAD context, IV, sequence number and,
// in TLS 1.3, the current traffic secret (the input of the next KeyUpdate).
// The key itself is only in the AeadCipher (and its EVP context while the
// connection is busy).
class DirectionKeys {
public:
    DirectionKeys() = default;
    ~DirectionKeys();
    DirectionKeys(const DirectionKeys&) = delete;
    DirectionKeys& operator=(const DirectionKeys&) = delete;

    // `secret` is the hand-off's secret for this direction (ipc/handoff.hpp).
    Status init(const SuiteInfo& suite, bool encrypt, std::span<const uint8_t> secret,
                uint64_t seq);
    // TLS 1.3: installs the keys of a new traffic secret (KeyUpdate); the
    // sequence number starts again at 0.
    Status install_tls13_secret(SecretBytes secret);

    // The nonce of record `seq` (TLS 1.3 and ChaCha20; GCM 1.2 on write).
    Nonce record_nonce(uint64_t seq) const;
    // TLS 1.2 AES-GCM: the nonce for an explicit part read from a record.
    Nonce record_nonce(std::span<const uint8_t, kTls12ExplicitNonceLen> explicit_nonce) const;

    AeadCipher& aead() { return aead_; }
    const SuiteInfo& suite() const { return *suite_; }
    std::span<const uint8_t> traffic_secret() const { return secret_.view(); }

    uint64_t seq = 0;                // of the next record under the current key
    uint64_t records_under_key = 0;  // records protected with the current key

private:
    Status install(TrafficKeys keys);

    const SuiteInfo* suite_ = nullptr;
    bool encrypt_ = false;
    AeadCipher aead_;
    SecretBytes secret_;  // TLS 1.3 only
    std::array<uint8_t, kAeadNonceLen> iv_{};
    size_t iv_len_ = 0;
};

}  // namespace tlsward::netproc
