// Support code of the remote key tests (no test cases here).
#include "test_remote_key_support.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <map>
#include <stdexcept>

#include "common/bytes.hpp"
#include "common/openssl_error.hpp"

namespace tlsward::rktest {

using cryptoproc::BioPtr;
using cryptoproc::EvpPkeyPtr;
using cryptoproc::SslCtxPtr;
using cryptoproc::SslPtr;
using cryptoproc::X509Ptr;

namespace {

[[noreturn]] void die(const std::string& what) {
    throw std::runtime_error(what + ": " + openssl_errors());
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(n));
}

EvpPkeyPtr generate(const std::string& type) {
    EVP_PKEY* k = nullptr;
    if (type == "RSA")
        k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    else if (type == "P-256" || type == "P-384")
        k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", type.c_str());
    else if (type == "ED25519")
        k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!k) die("keygen " + type);
    return EvpPkeyPtr(k);
}

cptest::Credentials self_signed(const std::string& type) {
    EvpPkeyPtr key = generate(type);
    X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost");
    if (!ext || !X509_add_ext(x.get(), ext, -1)) die("SAN");
    X509_EXTENSION_free(ext);
    const EVP_MD* md = type == "ED25519" ? nullptr : EVP_sha256();
    if (!X509_sign(x.get(), key.get(), md)) die("X509_sign");
    BioPtr cb(BIO_new(BIO_s_mem()));
    BioPtr kb(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(cb.get(), x.get()) ||
        !PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
        die("PEM");
    cptest::Credentials c;
    c.chain_pem = bio_text(cb.get());
    c.key_pem = bio_text(kb.get());
    c.ca_pem = c.chain_pem;
    return c;
}

X509_STORE* store_of(const std::string& pem) {
    X509_STORE* store = X509_STORE_new();
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!store || !x || X509_STORE_add_cert(store, x.get()) != 1) die("trust store");
    return store;
}

void use_credentials(SSL_CTX* ctx, const cptest::Credentials& c) {
    BioPtr cb(BIO_new_mem_buf(c.chain_pem.data(), static_cast<int>(c.chain_pem.size())));
    X509Ptr x(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    EvpPkeyPtr k = private_key(c);
    if (!x || SSL_CTX_use_certificate(ctx, x.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, k.get()) != 1)
        die("peer credentials");
}

}  // namespace

const cptest::Credentials& credentials(const std::string& type) {
    static std::map<std::string, cptest::Credentials> made;
    auto it = made.find(type);
    if (it == made.end()) it = made.emplace(type, self_signed(type)).first;
    return it->second;
}

EvpPkeyPtr private_key(const cptest::Credentials& c) {
    BioPtr bio(BIO_new_mem_buf(c.key_pem.data(), static_cast<int>(c.key_pem.size())));
    EvpPkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!k) die("private key");
    return k;
}

std::vector<uint8_t> reference_sign(EVP_PKEY* key, uint16_t scheme,
                                    std::span<const uint8_t> message) {
    const ipc::SchemeInfo* s = ipc::find_scheme(scheme);
    if (!s) throw std::runtime_error("unknown scheme");
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    std::vector<uint8_t> sig(static_cast<size_t>(EVP_PKEY_get_size(key)));
    size_t len = sig.size();
    bool ok = md && EVP_DigestSignInit_ex(md, &pctx, s->hash, nullptr, nullptr, key, nullptr) == 1;
    if (ok && s->pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestSign(md, sig.data(), &len, message.data(), message.size()) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) die("reference_sign");
    sig.resize(len);
    return sig;
}

cryptoproc::ServiceSpec remote_server_spec(const cptest::Credentials& c, uint64_t key_id) {
    cryptoproc::ServiceSpec s = cptest::server_spec(1, "remote", {&c});
    s.certificates[0].key_pem.wipe();
    s.certificates[0].remote_key_id = key_id;
    s.certificates[0].remote_kinds = ipc::kServerKinds;
    return s;
}

cryptoproc::ServiceSpec remote_client_spec(const cptest::Credentials& c, uint64_t key_id,
                                           const cptest::Credentials& server) {
    cryptoproc::ServiceSpec s;
    s.id = 2;
    s.name = "remote-client";
    s.role = ipc::TlsRole::client;
    cryptoproc::CertificateSpec cert;
    cert.chain_pem = c.chain_pem;
    cert.remote_key_id = key_id;
    cert.remote_kinds = ipc::kClientKinds;
    s.certificates.push_back(std::move(cert));
    s.server_ca_der = cptest::der_of_pem(server.ca_pem);
    s.tls.verify_name = "localhost";
    return s;
}

SslCtxPtr peer_client_ctx(const cptest::Credentials& ca, int max_version,
                          const std::string& sigalgs, const cptest::Credentials* client_cert) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx || SSL_CTX_set_max_proto_version(ctx.get(), max_version) != 1) die("client ctx");
    SSL_CTX_set_cert_store(ctx.get(), store_of(ca.ca_pem));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!sigalgs.empty() && SSL_CTX_set1_sigalgs_list(ctx.get(), sigalgs.c_str()) != 1)
        die("sigalgs " + sigalgs);
    if (client_cert) use_credentials(ctx.get(), *client_cert);
    return ctx;
}

SslCtxPtr peer_server_ctx(const cptest::Credentials& cert, int max_version,
                          const cptest::Credentials* client_ca) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx || SSL_CTX_set_max_proto_version(ctx.get(), max_version) != 1) die("server ctx");
    use_credentials(ctx.get(), cert);
    if (client_ca) {
        SSL_CTX_set_cert_store(ctx.get(), store_of(client_ca->ca_pem));
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    return ctx;
}

HandshakePair::HandshakePair(SSL_CTX* ours, SSL_CTX* peer, bool ours_is_server)
    : ours_(SSL_new(ours)), peer_(SSL_new(peer)) {
    if (!ours_ || !peer_) die("SSL_new");
    for (SSL* s : {ours_.get(), peer_.get()}) {
        BIO* r = BIO_new(BIO_s_mem());
        BIO* w = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(r, -1);
        SSL_set_bio(s, r, w);
    }
    if (ours_is_server) {
        SSL_set_accept_state(ours_.get());
        SSL_set_connect_state(peer_.get());
    } else {
        SSL_set_connect_state(ours_.get());
        SSL_set_accept_state(peer_.get());
        SSL_set_tlsext_host_name(ours_.get(), "localhost");
    }
    slot_.wake = [this] { ++wakes_; };
}

HandshakePair::~HandshakePair() {
    cryptoproc::unwind_remote_sign(ours_.get(), slot_);
}

bool HandshakePair::move(SSL* from, SSL* to) {
    BIO* w = SSL_get_wbio(from);
    size_t n = BIO_ctrl_pending(w);
    if (n == 0) return false;
    std::vector<uint8_t> buf(n);
    int got = BIO_read(w, buf.data(), static_cast<int>(n));
    BIO_write(SSL_get_rbio(to), buf.data(), got);
    return true;
}

bool HandshakePair::step(SSL* ssl, bool is_ours, bool& done, int& error) {
    if (done || failed_) return false;
    ERR_clear_error();
    int r;
    if (is_ours) {
        cryptoproc::RemoteSignSlot::Scope scope(slot_);
        r = SSL_do_handshake(ssl);
    } else {
        timespec a{}, b{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        r = SSL_do_handshake(ssl);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        peer_ns_ +=
            static_cast<uint64_t>((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    }
    error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    if (r == 1) {
        done = true;
        return true;
    }
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_ASYNC) {
        failed_ = true;
        failure_ = strfmt("%s: SSL_get_error %d: %s", is_ours ? "ours" : "peer", error,
                          openssl_errors().c_str());
    }
    return false;
}

void HandshakePair::pump() {
    for (int round = 0; round < 50 && !failed_; ++round) {
        bool progress = false;
        progress |= step(ours_.get(), true, ours_done_, ours_error_);
        progress |= move(ours_.get(), peer_.get());
        progress |= step(peer_.get(), false, peer_done_, peer_error_);
        progress |= move(peer_.get(), ours_.get());
        if (!progress && BIO_ctrl_pending(SSL_get_rbio(ours_.get())) == 0 &&
            BIO_ctrl_pending(SSL_get_rbio(peer_.get())) == 0)
            break;
    }
}

}  // namespace tlsward::rktest
