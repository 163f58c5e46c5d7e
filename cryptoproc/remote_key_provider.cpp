// The "tlsward-remote" provider: key management and signature for keys
// whose private half is in the signer (cryptoproc/remote_key.hpp).
//
// Why a provider (and not a method table): OpenSSL 3.0 deprecates
// EVP_PKEY_meth and RSA_METHOD/EC_KEY_METHOD, and libssl only asks a key's
// provider to sign (EVP_DigestSign), so a provider key is the supported
// way to sign elsewhere. tpm2-openssl and pkcs11-provider do the same.
//
// What libssl needs of a key, and where it comes from here:
// - its type (EVP_PKEY_is_a "RSA", "EC", "ED25519"): the algorithm names
//   below, the same as OpenSSL's own;
// - bits, security bits, maximum signature size, the curve, the default
//   digest, the point format: every parameter query is answered by the
//   certificate's public key (an ordinary key of OpenSSL's provider) that
//   each key object carries;
// - that it matches the certificate (X509_check_private_key): OpenSSL
//   exports the certificate's key into this key manager (import) and asks
//   match(), which compares the public keys;
// - the signature: EVP_DigestSign over the whole TLS input, which is what
//   the signer wants (a message, not a digest). There is no sign_init, so
//   raw digest signing (EVP_PKEY_sign) is not offered at all.
//
// The provider lives in a library context of its own, so no other fetch of
// the process can ever land on it (a fetch that names no provider takes
// whichever implementation the method store holds first, and measured on
// 3.0.19 that was ours once both were loaded: key generation broke). A key
// of another library context works with libssl's: an EVP_PKEY_CTX takes
// the key's own key manager, and the signature comes from the key's own
// provider once the key refuses to be exported (km_export).
// test_remote_key.cpp checks both.
#include <openssl/async.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>

#include "common/openssl_error.hpp"
#include "cryptoproc/remote_key.hpp"

namespace tlsward::cryptoproc {

namespace {

constexpr const char* kProviderName = "tlsward-remote";
constexpr const char* kOurs = "provider=tlsward-remote";
constexpr const char* kParamKeyId = "tlsward-key-id";
constexpr const char* kParamKinds = "tlsward-sign-kinds";

constexpr const char* kNamesRsa = "RSA:rsaEncryption:1.2.840.113549.1.1.1";
constexpr const char* kNamesEc = "EC:id-ecPublicKey:1.2.840.10045.2.1";
constexpr const char* kNamesEd25519 = "ED25519:1.3.101.112";

enum class Family { rsa, ec, ed25519 };

const char* key_type(Family f) {
    return f == Family::rsa ? "RSA" : f == Family::ec ? "EC" : "ED25519";
}

void raise(const char* what) {
    ERR_raise_data(ERR_LIB_USER, 0, "remote key: %s", what);
}

// One key object: the certificate's public key, and for a key that signs,
// the signer's key id and what it may sign.
struct KeyData {
    Family family = Family::rsa;
    EVP_PKEY* pub = nullptr;
    ipc::KeyAlgorithm alg = ipc::KeyAlgorithm::rsa;
    uint64_t key_id = 0;
    uint8_t kinds = 0;  // 0: a public key only (the certificate's, for match)
};

// --- key management ----------------------------------------------------------

template <Family F>
void* km_new(void*) {
    auto* k = new (std::nothrow) KeyData;
    if (k) k->family = F;
    return k;
}

void km_free(void* kd) {
    auto* k = static_cast<KeyData*>(kd);
    if (!k) return;
    EVP_PKEY_free(k->pub);
    delete k;
}

int km_has(const void* kd, int selection) {
    const auto* k = static_cast<const KeyData*>(kd);
    if (!k || !k->pub) return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && k->kinds == 0) return 0;
    return 1;
}

template <Family F>
int km_import(void* kd, int selection, const OSSL_PARAM params[]) {
    auto* k = static_cast<KeyData*>(kd);
    if (!k || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) return 0;
    // The public half as an ordinary key of the default library context.
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, key_type(F), nullptr);
    EVP_PKEY* pub = nullptr;
    bool ok =
        ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return 0;
    auto alg = key_algorithm_of(pub);
    if (!alg) {
        EVP_PKEY_free(pub);
        raise("unsupported key type");
        return 0;
    }
    uint64_t id = 0;
    unsigned int kinds = 0;
    const OSSL_PARAM* pid = OSSL_PARAM_locate_const(params, kParamKeyId);
    const OSSL_PARAM* pkinds = OSSL_PARAM_locate_const(params, kParamKinds);
    if ((pid && !OSSL_PARAM_get_uint64(pid, &id)) ||
        (pkinds && !OSSL_PARAM_get_uint(pkinds, &kinds))) {
        EVP_PKEY_free(pub);
        return 0;
    }
    EVP_PKEY_free(k->pub);
    k->pub = pub;
    k->alg = *alg;
    k->key_id = id;
    k->kinds = static_cast<uint8_t>(pid ? kinds : 0);
    return 1;
}

const OSSL_PARAM kKeyTypes[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
    OSSL_PARAM_uint64(kParamKeyId, nullptr),
    OSSL_PARAM_uint(kParamKinds, nullptr),
    OSSL_PARAM_END,
};

const OSSL_PARAM* km_types(int) {
    return kKeyTypes;
}

// A key that signs is never exported: libcrypto's signature setup
// (do_sigver_init) first tries the signature of the default fetch and
// exports the key to that provider's key manager; exporting our public half
// there would make OpenSSL sign with a key that has no private half
// ("missing private key", measured on 3.0.19). Refused, it falls back to
// the signature of the key's own provider: ours.
int km_export(void* kd, int selection, OSSL_CALLBACK* cb, void* cbarg) {
    auto* k = static_cast<KeyData*>(kd);
    if (!k || !k->pub || k->kinds != 0 || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
        return 0;
    OSSL_PARAM* params = nullptr;
    if (EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params) != 1) return 0;
    int ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

// Every query about the key is a query about its public half.
int km_get_params(void* kd, OSSL_PARAM params[]) {
    auto* k = static_cast<KeyData*>(kd);
    return k && k->pub && EVP_PKEY_get_params(k->pub, params) == 1 ? 1 : 0;
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_FIELD_TYPE, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* km_gettable_params(void*) {
    return kGettable;
}

int km_match(const void* a, const void* b, int) {
    const auto* ka = static_cast<const KeyData*>(a);
    const auto* kb = static_cast<const KeyData*>(b);
    return ka && kb && ka->pub && kb->pub && EVP_PKEY_eq(ka->pub, kb->pub) == 1 ? 1 : 0;
}

void* km_dup(const void* kd, int) {
    const auto* k = static_cast<const KeyData*>(kd);
    if (!k) return nullptr;
    auto* copy = new (std::nothrow) KeyData(*k);
    if (!copy) return nullptr;
    if (copy->pub && EVP_PKEY_up_ref(copy->pub) != 1) {
        copy->pub = nullptr;
        km_free(copy);
        return nullptr;
    }
    return copy;
}

template <Family F>
const char* km_operation_name(int) {
    return F == Family::rsa ? "RSA" : F == Family::ec ? "ECDSA" : "ED25519";
}

template <class Fn>
void (*fn(Fn* f))(void) {
    return reinterpret_cast<void (*)(void)>(f);
}

template <Family F>
const OSSL_DISPATCH kKeymgmt[] = {
    {OSSL_FUNC_KEYMGMT_NEW, fn(&km_new<F>)},
    {OSSL_FUNC_KEYMGMT_FREE, fn(&km_free)},
    {OSSL_FUNC_KEYMGMT_HAS, fn(&km_has)},
    {OSSL_FUNC_KEYMGMT_IMPORT, fn(&km_import<F>)},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, fn(&km_types)},
    {OSSL_FUNC_KEYMGMT_EXPORT, fn(&km_export)},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, fn(&km_types)},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, fn(&km_get_params)},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, fn(&km_gettable_params)},
    {OSSL_FUNC_KEYMGMT_MATCH, fn(&km_match)},
    {OSSL_FUNC_KEYMGMT_DUP, fn(&km_dup)},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, fn(&km_operation_name<F>)},
    {0, nullptr},
};

// --- signature -----------------------------------------------------------------

struct SigCtx {
    Family family = Family::rsa;
    KeyData* key = nullptr;  // the EVP_PKEY_CTX holds a reference to its key
    int hash_bytes = 0;      // 0: Ed25519
    bool pss = false;
    std::vector<uint8_t> message;  // digest_sign_update's input, whole
};

// Digest names as libssl and applications spell them.
int hash_bytes_of(const char* name) {
    if (!name || !*name) return -1;
    struct Alias {
        const char* name;
        int bytes;
    };
    static const Alias kAliases[] = {
        {"SHA2-256", 32}, {"SHA256", 32},   {"SHA-256", 32}, {"SHA2-384", 48}, {"SHA384", 48},
        {"SHA-384", 48},  {"SHA2-512", 64}, {"SHA512", 64},  {"SHA-512", 64},
    };
    for (const Alias& a : kAliases)
        if (strcasecmp(name, a.name) == 0) return a.bytes;
    return 0;
}

template <Family F>
void* sig_newctx(void*, const char*) {
    auto* c = new (std::nothrow) SigCtx;
    if (c) c->family = F;
    return c;
}

void sig_freectx(void* vctx) {
    delete static_cast<SigCtx*>(vctx);
}

void* sig_dupctx(void* vctx) {
    return new (std::nothrow) SigCtx(*static_cast<SigCtx*>(vctx));
}

int sig_set_ctx_params(void* vctx, const OSSL_PARAM params[]) {
    auto* c = static_cast<SigCtx*>(vctx);
    if (!c) return 0;
    if (!params) return 1;
    for (const OSSL_PARAM* p = params; p->key; ++p) {
        std::string_view key(p->key);
        const char* s = nullptr;
        if (key == OSSL_SIGNATURE_PARAM_DIGEST) {
            if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || hash_bytes_of(s) <= 0) return 0;
            c->hash_bytes = hash_bytes_of(s);
        } else if (key == OSSL_SIGNATURE_PARAM_PAD_MODE && c->family == Family::rsa) {
            int mode = 0;
            if (p->data_type == OSSL_PARAM_UTF8_STRING) {
                if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) return 0;
                mode = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0       ? RSA_PKCS1_PSS_PADDING
                       : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
                                                                        : 0;
            } else if (!OSSL_PARAM_get_int(p, &mode)) {
                return 0;
            }
            if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING) return 0;
            c->pss = mode == RSA_PKCS1_PSS_PADDING;
        } else if (key == OSSL_SIGNATURE_PARAM_PSS_SALTLEN && c->family == Family::rsa) {
            // TLS uses a salt as long as the hash, and the signer signs so.
            int len = 0;
            if (p->data_type == OSSL_PARAM_UTF8_STRING) {
                if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) ||
                    strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) != 0)
                    return 0;
            } else if (!OSSL_PARAM_get_int(p, &len) ||
                       (len != RSA_PSS_SALTLEN_DIGEST && len != c->hash_bytes)) {
                return 0;
            }
        } else if (key == OSSL_SIGNATURE_PARAM_MGF1_DIGEST && c->family == Family::rsa) {
            if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || hash_bytes_of(s) != c->hash_bytes)
                return 0;
        } else {
            return 0;  // nothing else is offered
        }
    }
    return 1;
}

const OSSL_PARAM kSigSettable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM kSigGettable[] = {OSSL_PARAM_END};

const OSSL_PARAM* sig_settable(void*, void*) {
    return kSigSettable;
}
const OSSL_PARAM* sig_gettable(void*, void*) {
    return kSigGettable;
}
int sig_get_ctx_params(void*, OSSL_PARAM*) {
    return 1;
}

int sig_digest_sign_init(void* vctx, const char* mdname, void* kd, const OSSL_PARAM params[]) {
    auto* c = static_cast<SigCtx*>(vctx);
    if (!c) return 0;
    if (kd) c->key = static_cast<KeyData*>(kd);
    if (!c->key || c->key->kinds == 0) {
        raise("a public key cannot sign");
        return 0;
    }
    int bytes = hash_bytes_of(mdname);
    if (c->family == Family::ed25519) {
        if (bytes != -1) {
            raise("Ed25519 signs without a separate digest");
            return 0;
        }
        bytes = 0;
    } else if (bytes == -1) {
        bytes = 32;
    } else if (bytes == 0) {
        raise("digest not offered (SHA-256, SHA-384 and SHA-512 only)");
        return 0;
    }
    c->hash_bytes = bytes;
    c->pss = false;
    c->message.clear();
    return sig_set_ctx_params(c, params);
}

int sig_digest_sign_update(void* vctx, const unsigned char* data, size_t len) {
    auto* c = static_cast<SigCtx*>(vctx);
    if (!c || len > ipc::kMaxSignMessage - c->message.size()) {
        raise("message too long for the signer");
        return 0;
    }
    c->message.insert(c->message.end(), data, data + len);
    return 1;
}

// What the message is, by its shape and what the key signs.
ipc::SignKind kind_of(uint8_t kinds, std::span<const uint8_t> m) {
    static const std::string_view kServer = "TLS 1.3, server CertificateVerify";
    static const std::string_view kClient = "TLS 1.3, client CertificateVerify";
    bool server = (kinds & ipc::kServerKinds) != 0;
    std::string_view context = server ? kServer : kClient;
    bool tls13 = m.size() > 64 + context.size() &&
                 std::all_of(m.begin(), m.begin() + 64, [](uint8_t b) { return b == 0x20; }) &&
                 std::equal(context.begin(), context.end(), m.begin() + 64);
    if (server)
        return tls13 ? ipc::SignKind::tls13_server_certificate_verify
                     : ipc::SignKind::tls12_server_key_exchange;
    return tls13 ? ipc::SignKind::tls13_client_certificate_verify
                 : ipc::SignKind::tls12_client_certificate_verify;
}

// Sends the message to the signer and pauses this ASYNC job until the
// answer is there (see remote_key.hpp).
int remote_sign(SigCtx* c, std::span<const uint8_t> message, unsigned char* sig, size_t* siglen,
                size_t sigsize) {
    const ipc::SchemeInfo* scheme = ipc::scheme_for(c->key->alg, c->hash_bytes, c->pss);
    RemoteSigner* signer = remote_signer();
    RemoteSignSlot* slot = RemoteSignSlot::current();
    if (!scheme) {
        raise("no TLS signature scheme for this key, digest and padding");
        return 0;
    }
    if (!signer || !slot || !ASYNC_get_current_job()) {
        raise("signs only in an asynchronous handshake (SSL_MODE_ASYNC) with a signer");
        return 0;
    }
    if (slot->waiting()) {
        raise("a signature is already out for this handshake");
        return 0;
    }
    auto pending = std::make_shared<PendingSignature>();
    pending->ticket = signer->submit(c->key->key_id, kind_of(c->key->kinds, message), scheme->code,
                                     message, [pending, slot](Result<std::vector<uint8_t>>&& r) {
                                         pending->result = std::move(r);
                                         pending->done = true;
                                         if (slot->wake) slot->wake();
                                     });
    slot->begin(pending);
    while (!pending->done) {
        if (ASYNC_pause_job() != 1) {
            signer->cancel(pending->ticket);
            pending->done = true;
            pending->result = err(ErrorKind::internal, "ASYNC_pause_job failed");
        }
    }
    slot->end();
    if (!pending->result) {
        slot->set_failure("signer: " + pending->result.message());
        raise(pending->result.message().c_str());
        return 0;
    }
    const std::vector<uint8_t>& s = *pending->result;
    if (s.size() > sigsize) {
        raise("the signer's signature is longer than the key allows");
        return 0;
    }
    std::memcpy(sig, s.data(), s.size());
    *siglen = s.size();
    return 1;
}

int sig_digest_sign_final(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
    auto* c = static_cast<SigCtx*>(vctx);
    if (!c || !c->key) return 0;
    if (!sig) {
        *siglen = static_cast<size_t>(EVP_PKEY_get_size(c->key->pub));
        return 1;
    }
    return remote_sign(c, c->message, sig, siglen, sigsize);
}

int sig_digest_sign(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize,
                    const unsigned char* tbs, size_t tbslen) {
    auto* c = static_cast<SigCtx*>(vctx);
    if (!c || !c->key) return 0;
    if (!sig) {
        *siglen = static_cast<size_t>(EVP_PKEY_get_size(c->key->pub));
        return 1;
    }
    if (tbslen > ipc::kMaxSignMessage) {
        raise("message too long for the signer");
        return 0;
    }
    return remote_sign(c, std::span<const uint8_t>(tbs, tbslen), sig, siglen, sigsize);
}

template <Family F>
const OSSL_DISPATCH kSignature[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, fn(&sig_newctx<F>)},
    {OSSL_FUNC_SIGNATURE_FREECTX, fn(&sig_freectx)},
    {OSSL_FUNC_SIGNATURE_DUPCTX, fn(&sig_dupctx)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, fn(&sig_digest_sign_init)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, fn(&sig_digest_sign_update)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, fn(&sig_digest_sign_final)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, fn(&sig_digest_sign)},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, fn(&sig_set_ctx_params)},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, fn(&sig_settable)},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, fn(&sig_get_ctx_params)},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, fn(&sig_gettable)},
    {0, nullptr},
};

// --- the provider ----------------------------------------------------------------

const OSSL_ALGORITHM kKeymgmtAlgorithms[] = {
    {kNamesRsa, kOurs, kKeymgmt<Family::rsa>, "RSA key held by the tlsward signer"},
    {kNamesEc, kOurs, kKeymgmt<Family::ec>, "EC key held by the tlsward signer"},
    {kNamesEd25519, kOurs, kKeymgmt<Family::ed25519>, "Ed25519 key held by the tlsward signer"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM kSignatureAlgorithms[] = {
    {kNamesRsa, kOurs, kSignature<Family::rsa>, "RSA signature by the tlsward signer"},
    {"ECDSA", kOurs, kSignature<Family::ec>, "ECDSA signature by the tlsward signer"},
    {kNamesEd25519, kOurs, kSignature<Family::ed25519>, "Ed25519 signature by the tlsward signer"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* query_operation(void*, int operation, int* no_cache) {
    *no_cache = 0;
    switch (operation) {
        case OSSL_OP_KEYMGMT:
            return kKeymgmtAlgorithms;
        case OSSL_OP_SIGNATURE:
            return kSignatureAlgorithms;
        default:
            return nullptr;
    }
}

const OSSL_DISPATCH kProviderFunctions[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, fn(&query_operation)},
    {0, nullptr},
};

int provider_init(const OSSL_CORE_HANDLE*, const OSSL_DISPATCH*, const OSSL_DISPATCH** out,
                  void** provctx) {
    static int context;
    *out = kProviderFunctions;
    *provctx = &context;
    return 1;
}

OSSL_LIB_CTX* g_libctx = nullptr;
OSSL_PROVIDER* g_provider = nullptr;

}  // namespace

Status load_remote_key_provider() {
    static std::once_flag once;
    static Status result;
    std::call_once(once, [] {
        g_libctx = OSSL_LIB_CTX_new();
        if (!g_libctx || OSSL_PROVIDER_add_builtin(g_libctx, kProviderName, &provider_init) != 1) {
            result = err(ErrorKind::internal, "OSSL_PROVIDER_add_builtin(%s): %s", kProviderName,
                         openssl_errors().c_str());
            return;
        }
        g_provider = OSSL_PROVIDER_load(g_libctx, kProviderName);
        if (!g_provider)
            result = err(ErrorKind::internal, "OSSL_PROVIDER_load(%s): %s", kProviderName,
                         openssl_errors().c_str());
    });
    return result;
}

Result<ipc::KeyAlgorithm> key_algorithm_of(const EVP_PKEY* pub) {
    if (EVP_PKEY_is_a(pub, "RSA")) return ipc::KeyAlgorithm::rsa;
    if (EVP_PKEY_is_a(pub, "ED25519")) return ipc::KeyAlgorithm::ed25519;
    if (EVP_PKEY_is_a(pub, "EC")) {
        char group[64] = {};
        if (EVP_PKEY_get_group_name(pub, group, sizeof group, nullptr) == 1) {
            if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
                return ipc::KeyAlgorithm::ec_p256;
            if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
                return ipc::KeyAlgorithm::ec_p384;
        }
        return err(ErrorKind::config, "EC key on curve \"%s\": the signer holds P-256 and P-384",
                   group);
    }
    return err(ErrorKind::config, "%s key: the signer holds RSA, EC P-256/P-384 and Ed25519 keys",
               EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "unknown");
}

bool is_remote_key(const EVP_PKEY* key) {
    const OSSL_PROVIDER* p = EVP_PKEY_get0_provider(key);
    return p && g_provider && p == g_provider;
}

Result<EvpPkeyPtr> make_remote_key(EVP_PKEY* pub, uint64_t key_id, uint8_t kinds) {
    if (auto s = load_remote_key_provider(); !s) return s.error();
    auto alg = key_algorithm_of(pub);
    if (!alg) return alg.error();
    if (kinds != ipc::kServerKinds && kinds != ipc::kClientKinds)
        return err(ErrorKind::internal, "a remote key signs for a server or for a client");
    OSSL_PARAM* pub_params = nullptr;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM* ours = nullptr;
    OSSL_PARAM* all = nullptr;
    EVP_PKEY_CTX* ctx = nullptr;
    EVP_PKEY* out = nullptr;
    bool ok = bld && EVP_PKEY_todata(pub, EVP_PKEY_PUBLIC_KEY, &pub_params) == 1 &&
              OSSL_PARAM_BLD_push_uint64(bld, kParamKeyId, key_id) == 1 &&
              OSSL_PARAM_BLD_push_uint(bld, kParamKinds, kinds) == 1 &&
              (ours = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
              (all = OSSL_PARAM_merge(pub_params, ours)) != nullptr &&
              (ctx = EVP_PKEY_CTX_new_from_name(g_libctx, EVP_PKEY_get0_type_name(pub), kOurs)) !=
                  nullptr &&
              EVP_PKEY_fromdata_init(ctx) == 1 &&
              EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_KEYPAIR, all) == 1;
    std::string why = ok ? std::string() : openssl_errors();
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(all);
    OSSL_PARAM_free(ours);
    OSSL_PARAM_free(pub_params);
    OSSL_PARAM_BLD_free(bld);
    if (!ok)
        return err(ErrorKind::internal, "remote key %llu: %s",
                   static_cast<unsigned long long>(key_id), why.c_str());
    return EvpPkeyPtr(out);
}

}  // namespace tlsward::cryptoproc
