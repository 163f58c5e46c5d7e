// Owning pointers for the OpenSSL objects the helper creates: every SSL,
// SSL_CTX, BIO, X509, key and KDF lives in one of these.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace tlsward::cryptoproc {

template <auto Free>
struct OsslFree {
    template <class T>
    void operator()(T* p) const {
        Free(p);
    }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslFree<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OsslFree<&SSL_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<&BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OsslFree<&X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<&EVP_PKEY_free>>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, OsslFree<&EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OsslFree<&EVP_KDF_CTX_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, OsslFree<&EVP_MD_free>>;
using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, OsslFree<&EVP_CIPHER_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, OsslFree<&EVP_MAC_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslFree<&X509_STORE_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslFree<&X509_CRL_free>>;

inline void free_x509_stack(STACK_OF(X509) * s) {
    sk_X509_pop_free(s, X509_free);
}
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslFree<&free_x509_stack>>;

}  // namespace tlsward::cryptoproc
