// AEAD record protection over OpenSSL EVP (RFC 5116 interface): AES-128-GCM,
// AES-256-GCM and ChaCha20-Poly1305, 12-byte nonces, 16-byte tags.
//
// One AeadCipher per direction of a connection. The EVP_CIPHERs are fetched
// once per process (OpenSSL 3.0 pays a provider look-up with locks on every
// implicit fetch); a context is keyed once per key and only its IV is set
// per record (EVP_CipherInit_ex2 with a NULL key).
//
// A keyed EVP context costs about 1.1 KiB (AES-GCM's key schedule and
// GHASH table), more than the rest of an idle connection together, so an
// idle connection gives it back (release_context) and keeps only the key;
// the next record builds it again (about 0.3 us).
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "common/tls_suites.hpp"

namespace tlsward::netproc {

inline constexpr size_t kMaxAeadKeyLen = 32;

// Fetches the three EVP_CIPHERs if not done yet (later calls cost nothing).
// netproc calls it at start-up so that a missing provider shows there and
// not on the first connection. The ciphers live as long as the process.
Status prefetch_aead_ciphers();

class AeadCipher {
public:
    AeadCipher() = default;
    ~AeadCipher();
    AeadCipher(AeadCipher&& o) noexcept;
    AeadCipher& operator=(AeadCipher&& o) noexcept;
    AeadCipher(const AeadCipher&) = delete;
    AeadCipher& operator=(const AeadCipher&) = delete;

    // Keys the context for one direction (encrypt: sealing), replacing any
    // earlier key; the context itself is reused. key.size() must be the
    // AEAD's key length. The caller wipes its copy of the key.
    Status set_key(Aead aead, bool encrypt, std::span<const uint8_t> key);
    bool has_key() const { return keyed_; }

    // Frees the EVP context (OpenSSL wipes it); the key stays, and the next
    // seal or open sets a context up again.
    void release_context();
    bool has_context() const { return ctx_ != nullptr; }

    // Encrypts `in` into `out` and writes the tag. out.size() == in.size();
    // `out` may be `in` itself (same start), never a partial overlap.
    Status seal(std::span<const uint8_t, kAeadNonceLen> nonce, std::span<const uint8_t> aad,
                std::span<const uint8_t> in, std::span<uint8_t> out,
                std::span<uint8_t, kAeadTagLen> tag);

    // Decrypts `in` into `out` (same rules as seal) and checks the tag.
    // False on any failure, a bad tag first of all; `out` is then wiped, so
    // unauthenticated plaintext never leaves this function.
    bool open(std::span<const uint8_t, kAeadNonceLen> nonce, std::span<const uint8_t> aad,
              std::span<const uint8_t> in, std::span<uint8_t> out,
              std::span<const uint8_t, kAeadTagLen> tag);

private:
    bool set_nonce(std::span<const uint8_t, kAeadNonceLen> nonce);
    // Creates and keys ctx_ if it was released (or never made).
    bool ensure_context();
    void wipe_key();

    EVP_CIPHER_CTX* ctx_ = nullptr;
    std::array<uint8_t, kMaxAeadKeyLen> key_{};
    Aead aead_ = Aead::aes128_gcm;
    bool encrypt_ = false;
    bool keyed_ = false;
};

}  // namespace tlsward::netproc
