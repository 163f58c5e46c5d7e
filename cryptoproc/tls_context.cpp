#include "cryptoproc/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <array>
#include <optional>

#include "common/openssl_error.hpp"
#include "common/tls_suites.hpp"
#include "cryptoproc/key_export.hpp"

namespace tlsward::cryptoproc {

namespace {

constexpr const char* kGroups = "X25519:P-256:P-384";

// PEM passphrase callback: encrypted keys are refused rather than prompted
// for on a terminal the helper does not have.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

BioPtr memory_bio(const void* data, size_t len) {
    return BioPtr(BIO_new_mem_buf(data, static_cast<int>(len)));
}

// Reads every certificate of a PEM chain, leaf first.
Result<std::vector<X509Ptr>> read_chain(const std::string& pem) {
    BioPtr bio = memory_bio(pem.data(), pem.size());
    if (!bio) return err("BIO_new_mem_buf: %s", openssl_errors().c_str());
    std::vector<X509Ptr> chain;
    for (;;) {
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
        if (!cert) break;
        chain.push_back(std::move(cert));
    }
    // The loop ends on "no start line" at the end of the input; anything
    // else is a broken certificate.
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
        !chain.empty()) {
        ERR_clear_error();
    } else if (e != 0 || chain.empty()) {
        return err("certificate chain: %s",
                   chain.empty() && e == 0 ? "no certificate in PEM" : openssl_errors().c_str());
    }
    return chain;
}

Result<EvpPkeyPtr> read_key(const SecretBytes& pem) {
    BioPtr bio = memory_bio(pem.data(), pem.size());
    if (!bio) return err("BIO_new_mem_buf: %s", openssl_errors().c_str());
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
        return err("private key (encrypted keys are not supported): %s", openssl_errors().c_str());
    return key;
}

Status add_certificate(SSL_CTX* ctx, const CertificateSpec& cert, std::vector<int>& key_types) {
    auto chain = read_chain(cert.chain_pem);
    if (!chain) return chain.error();
    auto key = read_key(cert.key_pem);
    if (!key) return key.error();
    int type = EVP_PKEY_get_base_id(key->get());
    for (int t : key_types)
        if (t == type)
            return err("a second certificate with a %s key (one per key type)",
                       EVP_PKEY_get0_type_name(key->get()));
    key_types.push_back(type);

    X509* leaf = chain->front().get();
    if (X509_check_private_key(leaf, key->get()) != 1)
        return err("the private key does not match the leaf certificate: %s",
                   openssl_errors().c_str());
    if (SSL_CTX_use_certificate(ctx, leaf) != 1)
        return err("SSL_CTX_use_certificate: %s", openssl_errors().c_str());
    if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1)
        return err("SSL_CTX_use_PrivateKey: %s", openssl_errors().c_str());
    if (SSL_CTX_check_private_key(ctx) != 1)
        return err("the private key does not match the leaf certificate: %s",
                   openssl_errors().c_str());
    // add1 takes its own reference; the chain goes with the current
    // certificate (the one just set).
    for (size_t i = 1; i < chain->size(); ++i)
        if (SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get()) != 1)
            return err("SSL_CTX_add1_chain_cert (certificate %zu of the chain): %s", i + 1,
                       openssl_errors().c_str());
    return {};
}

Status configure_server(SSL_CTX* ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        return err("SSL_CTX_set_min/max_proto_version: %s", openssl_errors().c_str());
    const CipherStrings& all = cipher_strings(ipc::kAeadAll);
    if (SSL_CTX_set_ciphersuites(ctx, all.tls13.c_str()) != 1)
        return err("SSL_CTX_set_ciphersuites(%s): %s", all.tls13.c_str(), openssl_errors().c_str());
    if (SSL_CTX_set_cipher_list(ctx, all.tls12.c_str()) != 1)
        return err("SSL_CTX_set_cipher_list(%s): %s", all.tls12.c_str(), openssl_errors().c_str());
    if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1)
        return err("SSL_CTX_set1_groups_list(%s): %s", kGroups, openssl_errors().c_str());
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    // Tickets and the session cache stay off until ticket keys are shared
    // with netproc's record layer (later issue).
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
        return err("SSL_CTX_set_num_tickets: %s", openssl_errors().c_str());
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_max_early_data(ctx, 0) != 1 || SSL_CTX_set_recv_max_early_data(ctx, 0) != 1)
        return err("SSL_CTX_set_max_early_data: %s", openssl_errors().c_str());
    // Without read-ahead OpenSSL takes exactly one record at a time from
    // the read BIO; what follows the handshake stays there (the leftover).
    SSL_CTX_set_read_ahead(ctx, 0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_keylog_callback(ctx, &keylog_callback);
    return {};
}

}  // namespace

Result<std::unique_ptr<ServiceContext>> build_service_context(const ServiceSpec& spec) {
    auto svc = std::make_unique<ServiceContext>();
    svc->id = spec.id;
    svc->name = spec.name;
    svc->role = spec.role;
    svc->handshake_timeout_ms = spec.handshake_timeout_ms;
    auto where = [&](const Error& e) {
        return context(strfmt("service %s (id %u)", spec.name.c_str(), spec.id), e);
    };
    if (spec.role == ipc::TlsRole::client) {
        svc->unsupported = "client role is not yet supported";
        return svc;
    }
    if (spec.certificates.empty()) return where(err("no certificate"));
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new_ex(nullptr, nullptr, TLS_server_method()));
    if (!ctx) return where(err("SSL_CTX_new_ex: %s", openssl_errors().c_str()));
    if (auto s = configure_server(ctx.get()); !s) return where(s.error());
    std::vector<int> key_types;
    for (size_t i = 0; i < spec.certificates.size(); ++i)
        if (auto s = add_certificate(ctx.get(), spec.certificates[i], key_types); !s)
            return where(context(strfmt("certificate %zu", i + 1), s.error()));
    svc->ctx = std::move(ctx);
    return svc;
}

const CipherStrings& cipher_strings(uint8_t aead_mask) {
    static std::array<std::optional<CipherStrings>, ipc::kAeadAll + 1> cache;
    auto& slot = cache[aead_mask & ipc::kAeadAll];
    if (!slot) {
        CipherStrings s;
        for (const SuiteInfo& suite : all_suites()) {
            if ((aead_bit(suite.aead) & aead_mask) == 0) continue;
            std::string& out = suite.version == kTls13 ? s.tls13 : s.tls12;
            if (!out.empty()) out += ':';
            out += suite.openssl;
        }
        slot = std::move(s);
    }
    return *slot;
}

Status restrict_ciphers(SSL* ssl, uint8_t aead_mask) {
    const CipherStrings& s = cipher_strings(aead_mask);
    if (s.tls13.empty() && s.tls12.empty()) return err("AEAD mask 0x%02x has no suite", aead_mask);
    if (SSL_set_ciphersuites(ssl, s.tls13.c_str()) != 1)
        return err("SSL_set_ciphersuites(%s): %s", s.tls13.c_str(), openssl_errors().c_str());
    if (s.tls13.empty() && SSL_set_max_proto_version(ssl, TLS1_2_VERSION) != 1)
        return err("SSL_set_max_proto_version: %s", openssl_errors().c_str());
    if (s.tls12.empty()) {
        if (SSL_set_min_proto_version(ssl, TLS1_3_VERSION) != 1)
            return err("SSL_set_min_proto_version: %s", openssl_errors().c_str());
    } else if (SSL_set_cipher_list(ssl, s.tls12.c_str()) != 1) {
        return err("SSL_set_cipher_list(%s): %s", s.tls12.c_str(), openssl_errors().c_str());
    }
    return {};
}

}  // namespace tlsward::cryptoproc
