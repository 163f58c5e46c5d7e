// The keys the signer holds, by opaque id (the supervisor chooses ids; a
// helper knows a key only by its id and its certificate's public key).
// Each key is parsed from the bytes the supervisor sent, which are wiped
// at once, and signs with contexts prepared once per signature scheme.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "ipc/sign_messages.hpp"

namespace tlsward::signer {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};

struct HeldKey {
    std::unique_ptr<EVP_PKEY, PkeyFree> key;
    ipc::KeyAlgorithm alg = ipc::KeyAlgorithm::rsa;
    uint8_t kinds = 0;  // ipc::sign_kind_bit mask
    // EVP_PKEY_sign contexts by scheme code, made on first use.
    std::map<uint16_t, std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>> contexts;
};

class KeyStore {
public:
    // Fetches the digests once (docs/internals.md, "Fetch once"); before
    // the sandbox.
    static Status prefetch();

    // Parses a PEM or DER private key; `key` is wiped whatever happens.
    Status add(uint64_t id, uint8_t kinds, SecretBytes& key);
    void forget(uint64_t id) { keys_.erase(id); }
    const HeldKey* find(uint64_t id) const;
    size_t size() const { return keys_.size(); }

    // Hashes the message with the scheme's digest and signs it (Ed25519:
    // signs the message itself). The caller has checked its shape.
    Result<std::vector<uint8_t>> sign(uint64_t id, const ipc::SchemeInfo& scheme,
                                      std::span<const uint8_t> message);

private:
    std::map<uint64_t, HeldKey> keys_;
};

// The signer's name for a key's algorithm; an error for other kinds.
Result<ipc::KeyAlgorithm> algorithm_of(const EVP_PKEY* key);

}  // namespace tlsward::signer
