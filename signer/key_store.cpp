#include "signer/key_store.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstring>

#include "common/openssl_error.hpp"

namespace tlsward::signer {

namespace {

// The digests, fetched once.
struct Digests {
    EVP_MD* sha256 = nullptr;
    EVP_MD* sha384 = nullptr;
    EVP_MD* sha512 = nullptr;
    const EVP_MD* of(int bytes) const {
        return bytes == 32 ? sha256 : bytes == 48 ? sha384 : bytes == 64 ? sha512 : nullptr;
    }
};
Digests g_digests;

int no_passphrase(char*, int, int, void*) {
    return -1;
}

EVP_PKEY* parse(const SecretBytes& bytes) {
    BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
    BIO_free(bio);
    if (key) return key;
    ERR_clear_error();
    const unsigned char* p = bytes.data();
    return d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes.size()));
}

Result<EVP_PKEY_CTX*> make_context(EVP_PKEY* key, const ipc::SchemeInfo& s) {
    const EVP_MD* md = g_digests.of(s.hash_bytes);
    if (!md) return err(ErrorKind::internal, "no digest for %s (prefetch not run?)", s.name);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    bool ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    if (ok && s.pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    else if (ok && s.rsa)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        return err(ErrorKind::internal, "%s context: %s", s.name, openssl_errors().c_str());
    }
    return ctx;
}

}  // namespace

Status KeyStore::prefetch() {
    g_digests.sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    g_digests.sha384 = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
    g_digests.sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
    if (!g_digests.sha256 || !g_digests.sha384 || !g_digests.sha512)
        return err(ErrorKind::internal, "EVP_MD_fetch: %s", openssl_errors().c_str());
    return {};
}

Result<ipc::KeyAlgorithm> algorithm_of(const EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "RSA")) return ipc::KeyAlgorithm::rsa;
    if (EVP_PKEY_is_a(key, "ED25519")) return ipc::KeyAlgorithm::ed25519;
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[64] = {};
        if (EVP_PKEY_get_group_name(key, group, sizeof group, nullptr) == 1) {
            if (strcmp(group, "prime256v1") == 0) return ipc::KeyAlgorithm::ec_p256;
            if (strcmp(group, "secp384r1") == 0) return ipc::KeyAlgorithm::ec_p384;
        }
        return err(ErrorKind::config, "EC key on curve \"%s\" (P-256 and P-384 only)", group);
    }
    const char* name = EVP_PKEY_get0_type_name(key);
    return err(ErrorKind::config, "%s key (RSA, EC P-256/P-384 and Ed25519 only)",
               name ? name : "unknown");
}

Status KeyStore::add(uint64_t id, uint8_t kinds, SecretBytes& bytes) {
    std::unique_ptr<EVP_PKEY, PkeyFree> key(parse(bytes));
    bytes.wipe();
    if (!key)
        return err(ErrorKind::config, "key %llu: not a PEM or DER private key: %s",
                   static_cast<unsigned long long>(id), openssl_errors().c_str());
    auto alg = algorithm_of(key.get());
    if (!alg) return context(strfmt("key %llu", static_cast<unsigned long long>(id)), alg.error());
    HeldKey& held = keys_[id];  // a key sent again under its id replaces the old one
    held.contexts.clear();
    held.key = std::move(key);
    held.alg = *alg;
    held.kinds = kinds;
    return {};
}

const HeldKey* KeyStore::find(uint64_t id) const {
    auto it = keys_.find(id);
    return it == keys_.end() ? nullptr : &it->second;
}

Result<std::vector<uint8_t>> KeyStore::sign(uint64_t id, const ipc::SchemeInfo& s,
                                            std::span<const uint8_t> message) {
    auto it = keys_.find(id);
    if (it == keys_.end()) return err(ErrorKind::internal, "no key %llu", (unsigned long long)id);
    HeldKey& k = it->second;
    std::vector<uint8_t> sig(static_cast<size_t>(EVP_PKEY_get_size(k.key.get())));
    size_t len = sig.size();
    if (s.hash_bytes == 0) {
        // Ed25519 signs the message itself.
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        bool ok = md &&
                  EVP_DigestSignInit_ex(md, nullptr, nullptr, nullptr, nullptr, k.key.get(),
                                        nullptr) == 1 &&
                  EVP_DigestSign(md, sig.data(), &len, message.data(), message.size()) == 1;
        EVP_MD_CTX_free(md);
        if (!ok) return err(ErrorKind::internal, "Ed25519: %s", openssl_errors().c_str());
    } else {
        auto& slot = k.contexts[s.code];
        if (!slot) {
            auto ctx = make_context(k.key.get(), s);
            if (!ctx) return ctx.error();
            slot.reset(*ctx);
        }
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (EVP_Digest(message.data(), message.size(), digest, &dlen, g_digests.of(s.hash_bytes),
                       nullptr) != 1 ||
            EVP_PKEY_sign(slot.get(), sig.data(), &len, digest, dlen) != 1)
            return err(ErrorKind::internal, "%s: %s", s.name, openssl_errors().c_str());
    }
    sig.resize(len);
    return sig;
}

}  // namespace tlsward::signer
