#include "netproc/aead.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>

#include "common/openssl_error.hpp"

namespace tlsward::netproc {

namespace {

struct FetchedCiphers {
    std::array<EVP_CIPHER*, 3> by_aead{};
};

size_t index_of(Aead a) {
    switch (a) {
        case Aead::aes128_gcm:
            return 0;
        case Aead::aes256_gcm:
            return 1;
        case Aead::chacha20_poly1305:
            return 2;
    }
    return 0;
}

// Fetched on first use (thread-safe static initialisation) and kept for the
// life of the process: they are shared, read-only algorithm handles.
const FetchedCiphers& ciphers() {
    static const FetchedCiphers fetched = [] {
        FetchedCiphers f;
        f.by_aead[0] = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
        f.by_aead[1] = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
        f.by_aead[2] = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
        return f;
    }();
    return fetched;
}

const EVP_CIPHER* cipher_for(Aead a) {
    return ciphers().by_aead[index_of(a)];
}

}  // namespace

Status prefetch_aead_ciphers() {
    for (Aead a : {Aead::aes128_gcm, Aead::aes256_gcm, Aead::chacha20_poly1305})
        if (!cipher_for(a))
            return err(ErrorKind::internal, "cannot fetch %s: %s", aead_name(a),
                       openssl_errors().c_str());
    return {};
}

AeadCipher::~AeadCipher() {
    EVP_CIPHER_CTX_free(ctx_);
    wipe_key();
}

AeadCipher::AeadCipher(AeadCipher&& o) noexcept
    : ctx_(o.ctx_), key_(o.key_), aead_(o.aead_), encrypt_(o.encrypt_), keyed_(o.keyed_) {
    o.ctx_ = nullptr;
    o.keyed_ = false;
    o.wipe_key();
}

AeadCipher& AeadCipher::operator=(AeadCipher&& o) noexcept {
    if (this != &o) {
        EVP_CIPHER_CTX_free(ctx_);
        ctx_ = o.ctx_;
        key_ = o.key_;
        aead_ = o.aead_;
        encrypt_ = o.encrypt_;
        keyed_ = o.keyed_;
        o.ctx_ = nullptr;
        o.keyed_ = false;
        o.wipe_key();
    }
    return *this;
}

void AeadCipher::wipe_key() {
    OPENSSL_cleanse(key_.data(), key_.size());
}

Status AeadCipher::set_key(Aead aead, bool encrypt, std::span<const uint8_t> key) {
    const EVP_CIPHER* cipher = cipher_for(aead);
    if (!cipher)
        return err(ErrorKind::internal, "cannot fetch %s: %s", aead_name(aead),
                   openssl_errors().c_str());
    if (key.size() != static_cast<size_t>(EVP_CIPHER_get_key_length(cipher)) ||
        key.size() > key_.size())
        return err(ErrorKind::internal, "%s key of %zu bytes", aead_name(aead), key.size());
    // A re-key with the same cipher and direction keeps the provider
    // context; anything else sets the cipher again.
    bool same = keyed_ && aead == aead_ && encrypt == encrypt_;
    keyed_ = false;
    wipe_key();
    std::copy(key.begin(), key.end(), key_.begin());
    if (ctx_ && EVP_CipherInit_ex2(ctx_, same ? nullptr : cipher, key.data(), nullptr,
                                   encrypt ? 1 : 0, nullptr) != 1) {
        wipe_key();
        return err(ErrorKind::internal, "%s key set-up: %s", aead_name(aead),
                   openssl_errors().c_str());
    }
    aead_ = aead;
    encrypt_ = encrypt;
    keyed_ = true;
    // Without a context the key is checked now rather than on the first
    // record, where a failure would look like a bad record.
    if (!ctx_ && !ensure_context()) {
        keyed_ = false;
        wipe_key();
        return err(ErrorKind::internal, "%s key set-up: %s", aead_name(aead),
                   openssl_errors().c_str());
    }
    return {};
}

void AeadCipher::release_context() {
    EVP_CIPHER_CTX_free(ctx_);
    ctx_ = nullptr;
}

bool AeadCipher::ensure_context() {
    if (ctx_) return true;
    if (!keyed_) return false;
    ctx_ = EVP_CIPHER_CTX_new();
    if (!ctx_) return false;
    if (EVP_CipherInit_ex2(ctx_, cipher_for(aead_), key_.data(), nullptr, encrypt_ ? 1 : 0,
                           nullptr) != 1) {
        release_context();
        return false;
    }
    return true;
}

bool AeadCipher::set_nonce(std::span<const uint8_t, kAeadNonceLen> nonce) {
    // The default IV length of all three AEADs is 12, so only the IV is set.
    return EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce.data(), encrypt_ ? 1 : 0, nullptr) == 1;
}

Status AeadCipher::seal(std::span<const uint8_t, kAeadNonceLen> nonce, std::span<const uint8_t> aad,
                        std::span<const uint8_t> in, std::span<uint8_t> out,
                        std::span<uint8_t, kAeadTagLen> tag) {
    if (!keyed_ || !encrypt_)
        return err(ErrorKind::internal, "AEAD context is not keyed for sealing");
    if (!ensure_context())
        return err(ErrorKind::internal, "AEAD seal: context: %s", openssl_errors().c_str());
    if (out.size() != in.size() || in.size() > INT_MAX || aad.size() > INT_MAX)
        return err(ErrorKind::internal, "AEAD seal: bad lengths");
    if (!set_nonce(nonce))
        return err(ErrorKind::internal, "AEAD seal: nonce: %s", openssl_errors().c_str());
    int n = 0;
    if (!aad.empty() &&
        EVP_CipherUpdate(ctx_, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1)
        return err(ErrorKind::internal, "AEAD seal: AAD: %s", openssl_errors().c_str());
    if (!in.empty()) {
        if (EVP_CipherUpdate(ctx_, out.data(), &n, in.data(), static_cast<int>(in.size())) != 1 ||
            static_cast<size_t>(n) != in.size())
            return err(ErrorKind::internal, "AEAD seal: %s", openssl_errors().c_str());
    }
    // GCM and ChaCha20-Poly1305 output nothing at the end; the scratch
    // space keeps Final away from the caller's buffer anyway.
    std::array<uint8_t, 32> tail{};
    int tail_len = 0;
    if (EVP_CipherFinal_ex(ctx_, tail.data(), &tail_len) != 1 || tail_len != 0)
        return err(ErrorKind::internal, "AEAD seal: final: %s", openssl_errors().c_str());
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()),
                            tag.data()) != 1)
        return err(ErrorKind::internal, "AEAD seal: tag: %s", openssl_errors().c_str());
    return {};
}

bool AeadCipher::open(std::span<const uint8_t, kAeadNonceLen> nonce, std::span<const uint8_t> aad,
                      std::span<const uint8_t> in, std::span<uint8_t> out,
                      std::span<const uint8_t, kAeadTagLen> tag) {
    if (!keyed_ || encrypt_ || out.size() != in.size() || in.size() > INT_MAX ||
        aad.size() > INT_MAX)
        return false;
    bool ok = ensure_context() && set_nonce(nonce);
    int n = 0;
    if (ok && !aad.empty())
        ok = EVP_CipherUpdate(ctx_, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1;
    if (ok && !in.empty())
        ok = EVP_CipherUpdate(ctx_, out.data(), &n, in.data(), static_cast<int>(in.size())) == 1 &&
             static_cast<size_t>(n) == in.size();
    // EVP takes the expected tag through a non-const pointer but only reads it.
    std::array<uint8_t, kAeadTagLen> expected{};
    std::copy(tag.begin(), tag.end(), expected.begin());
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(expected.size()),
                                 expected.data()) == 1;
    std::array<uint8_t, 32> tail{};
    int tail_len = 0;
    if (ok) ok = EVP_CipherFinal_ex(ctx_, tail.data(), &tail_len) == 1 && tail_len == 0;
    if (!ok) {
        if (!out.empty()) OPENSSL_cleanse(out.data(), out.size());
        // A failed tag check leaves a reason on the error queue; it is not
        // news for anyone (the caller reports bad_record_mac), drop it.
        openssl_errors();
    }
    return ok;
}

}  // namespace tlsward::netproc
