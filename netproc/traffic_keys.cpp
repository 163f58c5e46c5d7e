#include "netproc/traffic_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/openssl_error.hpp"

namespace tlsward::netproc {

namespace {

constexpr char kLabelPrefix[] = "tls13 ";
constexpr size_t kMaxLabel = 255 - (sizeof kLabelPrefix - 1);  // HkdfLabel.label is <7..255>

EVP_KDF* fetched_kdf() {
    // Fetched once per process and kept: a shared, read-only handle.
    static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS13-KDF", nullptr);
    return kdf;
}

// One TLS13-KDF context per suite hash and thread, set up once with mode,
// digest and prefix so that a derivation only passes key, label and context
// (OpenSSL 3.0 cannot duplicate this context, and passing the digest name
// every time would fetch the digest every time). The secret put into a
// context is replaced by a dummy right after each derivation.
class KdfContexts {
public:
    ~KdfContexts() {
        for (auto& e : entries_) EVP_KDF_CTX_free(e.ctx);
    }
    EVP_KDF_CTX* get(const char* digest) {
        for (auto& e : entries_)
            if (e.ctx && std::strcmp(e.digest, digest) == 0) return e.ctx;
        for (auto& e : entries_) {
            if (e.ctx) continue;
            EVP_KDF* kdf = fetched_kdf();
            if (!kdf) return nullptr;
            EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
            if (!ctx) return nullptr;
            int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
            std::string name(digest);
            OSSL_PARAM params[] = {
                OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, name.data(), 0),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX,
                                                  const_cast<char*>(kLabelPrefix),
                                                  sizeof kLabelPrefix - 1),
                OSSL_PARAM_construct_end(),
            };
            if (EVP_KDF_CTX_set_params(ctx, params) != 1) {
                EVP_KDF_CTX_free(ctx);
                return nullptr;
            }
            e.digest = digest;
            e.ctx = ctx;
            return ctx;
        }
        return nullptr;
    }

private:
    struct Entry {
        const char* digest = nullptr;  // static strings from the suite table
        EVP_KDF_CTX* ctx = nullptr;
    };
    Entry entries_[2];  // SHA256 and SHA384
};

KdfContexts& kdf_contexts() {
    thread_local KdfContexts contexts;
    return contexts;
}

}  // namespace

Status prefetch_kdf() {
    for (const char* digest : {"SHA256", "SHA384"})
        if (!kdf_contexts().get(digest))
            return err(ErrorKind::internal, "cannot set up TLS13-KDF with %s: %s", digest,
                       openssl_errors().c_str());
    return {};
}

Status hkdf_expand_label(const SuiteInfo& suite, std::span<const uint8_t> secret,
                         std::string_view label, std::span<const uint8_t> context,
                         std::span<uint8_t> out) {
    if (label.size() > kMaxLabel || context.size() > 255 || out.empty() || out.size() > 0xffff)
        return err(ErrorKind::internal, "HKDF-Expand-Label: bad lengths");
    if (secret.size() != suite.hash_len)
        return err(ErrorKind::internal, "HKDF-Expand-Label: secret of %zu bytes for %s",
                   secret.size(), suite.name);
    EVP_KDF_CTX* ctx = kdf_contexts().get(suite.digest);
    if (!ctx)
        return err(ErrorKind::internal, "TLS13-KDF with %s: %s", suite.digest,
                   openssl_errors().c_str());
    // OSSL_PARAM wants non-const pointers; the KDF copies and never writes.
    static uint8_t empty[1] = {0};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                          secret.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, const_cast<char*>(label.data()),
                                          label.size()),
        OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_DATA, context.empty() ? empty : const_cast<uint8_t*>(context.data()),
            context.size()),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
    // Replace (and thereby wipe: OpenSSL clear-frees the old key) the secret
    // held in the cached context.
    OSSL_PARAM wipe[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, empty, sizeof empty),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX_set_params(ctx, wipe);
    if (ok != 1) {
        OPENSSL_cleanse(out.data(), out.size());
        return err(ErrorKind::internal, "HKDF-Expand-Label(\"%.*s\"): %s",
                   static_cast<int>(label.size()), label.data(), openssl_errors().c_str());
    }
    return {};
}

TrafficKeys::~TrafficKeys() {
    OPENSSL_cleanse(iv.data(), iv.size());
}

Result<TrafficKeys> tls13_traffic_keys(const SuiteInfo& suite, std::span<const uint8_t> secret) {
    if (suite.version != kTls13)
        return err(ErrorKind::internal, "%s is not a TLS 1.3 suite", suite.name);
    TrafficKeys k;
    k.key = SecretBytes(suite.key_len);
    k.iv_len = kAeadNonceLen;
    if (Status s = hkdf_expand_label(suite, secret, "key", {}, k.key.span()); !s) return s.error();
    if (Status s = hkdf_expand_label(suite, secret, "iv", {}, k.iv); !s) return s.error();
    return k;
}

Result<SecretBytes> tls13_next_traffic_secret(const SuiteInfo& suite,
                                              std::span<const uint8_t> secret) {
    SecretBytes next(suite.hash_len);
    if (Status s = hkdf_expand_label(suite, secret, "traffic upd", {}, next.span()); !s)
        return s.error();
    return next;
}

Result<TrafficKeys> tls12_traffic_keys(const SuiteInfo& suite,
                                       std::span<const uint8_t> key_and_iv) {
    if (suite.version != kTls12)
        return err(ErrorKind::internal, "%s is not a TLS 1.2 suite", suite.name);
    if (key_and_iv.size() != suite.key_len + suite.iv_len || suite.iv_len > kAeadNonceLen)
        return err(ErrorKind::internal, "TLS 1.2 key material of %zu bytes for %s",
                   key_and_iv.size(), suite.name);
    TrafficKeys k;
    k.key = SecretBytes(key_and_iv.first(suite.key_len));
    auto iv = key_and_iv.subspan(suite.key_len);
    std::copy(iv.begin(), iv.end(), k.iv.begin());
    k.iv_len = iv.size();
    return k;
}

void store_be16(std::span<uint8_t, 2> out, uint16_t v) {
    out[0] = static_cast<uint8_t>(v >> 8);
    out[1] = static_cast<uint8_t>(v);
}

void store_be64(std::span<uint8_t, 8> out, uint64_t v) {
    for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

Nonce xor_nonce(std::span<const uint8_t, kAeadNonceLen> iv, uint64_t seq) {
    Nonce n{};
    std::copy(iv.begin(), iv.end(), n.begin());
    for (size_t i = 0; i < 8; ++i) n[4 + i] ^= static_cast<uint8_t>(seq >> (56 - 8 * i));
    return n;
}

Nonce gcm_nonce(std::span<const uint8_t, 4> salt,
                std::span<const uint8_t, kTls12ExplicitNonceLen> explicit_nonce) {
    Nonce n{};
    std::copy(salt.begin(), salt.end(), n.begin());
    std::copy(explicit_nonce.begin(), explicit_nonce.end(), n.begin() + 4);
    return n;
}

DirectionKeys::~DirectionKeys() {
    OPENSSL_cleanse(iv_.data(), iv_.size());
}

Status DirectionKeys::init(const SuiteInfo& suite, bool encrypt, std::span<const uint8_t> secret,
                           uint64_t first_seq) {
    suite_ = &suite;
    encrypt_ = encrypt;
    if (suite.version == kTls13) {
        if (secret.size() != suite.hash_len)
            return err(ErrorKind::internal, "traffic secret of %zu bytes for %s", secret.size(),
                       suite.name);
        if (Status s = install_tls13_secret(SecretBytes(secret)); !s) return s;
    } else {
        auto keys = tls12_traffic_keys(suite, secret);
        if (!keys) return keys.error();
        if (Status s = install(std::move(keys).value()); !s) return s;
    }
    // Records already sent under this key (TLS 1.3 tickets, the TLS 1.2
    // Finished at 0) count towards its usage limit.
    seq = first_seq;
    records_under_key = first_seq;
    return {};
}

Status DirectionKeys::install_tls13_secret(SecretBytes secret) {
    if (!suite_ || suite_->version != kTls13)
        return err(ErrorKind::internal, "KeyUpdate outside TLS 1.3");
    auto keys = tls13_traffic_keys(*suite_, secret.view());
    if (!keys) return keys.error();
    if (Status s = install(std::move(keys).value()); !s) return s;
    secret_ = std::move(secret);
    // RFC 8446 5.3: the first record under a new key uses sequence number 0.
    seq = 0;
    records_under_key = 0;
    return {};
}

Status DirectionKeys::install(TrafficKeys keys) {
    if (Status s = aead_.set_key(suite_->aead, encrypt_, keys.key.view()); !s) return s;
    iv_ = keys.iv;
    iv_len_ = keys.iv_len;
    return {};
}

Nonce DirectionKeys::record_nonce(uint64_t record_seq) const {
    if (iv_len_ == kAeadNonceLen) return xor_nonce(iv_, record_seq);
    // TLS 1.2 AES-GCM: we send the sequence number as the explicit part.
    std::array<uint8_t, kTls12ExplicitNonceLen> explicit_nonce{};
    store_be64(explicit_nonce, record_seq);
    return gcm_nonce(std::span<const uint8_t, kAeadNonceLen>(iv_).first<4>(), explicit_nonce);
}

Nonce DirectionKeys::record_nonce(
    std::span<const uint8_t, kTls12ExplicitNonceLen> explicit_nonce) const {
    return gcm_nonce(std::span<const uint8_t, kAeadNonceLen>(iv_).first<4>(), explicit_nonce);
}

}  // namespace tlsward::netproc
