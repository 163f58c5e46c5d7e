#include "cryptoproc/peer_verify.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "common/hex.hpp"
#include "common/openssl_error.hpp"
#include "cryptoproc/certificates.hpp"
#include "cryptoproc/tls_context.hpp"

namespace tlsward::cryptoproc {

namespace {

EVP_MD* g_sha256 = nullptr;  // fetched once, for the life of the process

std::string printable(const unsigned char* p, size_t n) {
    std::string out(reinterpret_cast<const char*>(p), n);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

std::string subject_text(X509* cert) {
    if (!cert) return "no certificate";
    PeerNames n = peer_names(cert);
    if (!n.cn.empty()) return "CN=" + n.cn;
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return printable(reinterpret_cast<const unsigned char*>(buf), strlen(buf));
}

template <class T, class Eq>
bool any_of(const std::vector<T>& v, Eq eq) {
    return std::any_of(v.begin(), v.end(), eq);
}

std::string list_text(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) {
        if (out.size() > 200) return out + ",...";
        if (!out.empty()) out += ',';
        out += s;
    }
    return out;
}

}  // namespace

Status peer_verify_init() {
    if (g_sha256) return {};
    g_sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!g_sha256)
        return err(ErrorKind::internal, "EVP_MD_fetch(SHA256): %s", openssl_errors().c_str());
    return {};
}

ipc::Sha256 spki_sha256(X509* cert) {
    ipc::Sha256 out{};
    unsigned char* der = nullptr;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (len > 0) {
        unsigned int n = 0;
        const EVP_MD* md = g_sha256 ? g_sha256 : EVP_sha256();
        EVP_Digest(der, static_cast<size_t>(len), out.data(), &n, md, nullptr);
    }
    OPENSSL_free(der);
    return out;
}

PeerNames peer_names(X509* cert) {
    PeerNames n;
    X509_NAME* subject = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i >= 0) {
        unsigned char* utf8 = nullptr;
        int len =
            ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
        if (len >= 0) n.cn = printable(utf8, static_cast<size_t>(len));
        OPENSSL_free(utf8);
    }
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans) {
        for (int j = 0; j < sk_GENERAL_NAME_num(sans); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, j);
            if (gn->type != GEN_DNS && gn->type != GEN_URI) continue;
            const ASN1_STRING* s =
                gn->type == GEN_DNS ? gn->d.dNSName : gn->d.uniformResourceIdentifier;
            std::string v = printable(ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
            (gn->type == GEN_DNS ? n.dns : n.uri).push_back(std::move(v));
        }
        GENERAL_NAMES_free(sans);
    }
    n.spki = spki_sha256(cert);
    ERR_clear_error();
    return n;
}

std::string PeerNames::describe() const {
    std::string out;
    if (!cn.empty()) out += "CN=" + cn;
    if (!dns.empty()) out += (out.empty() ? "" : ", ") + std::string("DNS=") + list_text(dns);
    if (!uri.empty()) out += (out.empty() ? "" : ", ") + std::string("URI=") + list_text(uri);
    out +=
        (out.empty() ? "" : ", ") + std::string("SPKI=") + hex_encode(spki).substr(0, 16) + "...";
    return out;
}

Result<X509StorePtr> build_trust_store(std::span<const uint8_t> ca_der,
                                       std::span<const uint8_t> crl_der, size_t* ca_count) {
    X509StorePtr store(X509_STORE_new());
    if (!store) return err(ErrorKind::internal, "X509_STORE_new: %s", openssl_errors().c_str());
    size_t count = 0;
    const unsigned char* p = ca_der.data();
    const unsigned char* end = ca_der.data() + ca_der.size();
    while (p < end) {
        X509Ptr cert(d2i_X509(nullptr, &p, end - p));
        if (!cert)
            return err(ErrorKind::config, "CA certificate %zu: %s", count + 1,
                       openssl_errors().c_str());
        // A duplicate (the same CA twice in a bundle) is not an error.
        if (X509_STORE_add_cert(store.get(), cert.get()) != 1) ERR_clear_error();
        ++count;
    }
    size_t crls = 0;
    p = crl_der.data();
    end = crl_der.data() + crl_der.size();
    while (p < end) {
        X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, end - p));
        if (!crl) return err(ErrorKind::config, "CRL %zu: %s", crls + 1, openssl_errors().c_str());
        if (X509_STORE_add_crl(store.get(), crl.get()) != 1) ERR_clear_error();
        ++crls;
    }
    if (crls > 0) X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
    if (ca_count) *ca_count = count;
    return store;
}

Result<STACK_OF(X509_NAME) *> ca_names(std::span<const uint8_t> ca_der) {
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    if (!names)
        return err(ErrorKind::internal, "sk_X509_NAME_new_null: %s", openssl_errors().c_str());
    const unsigned char* p = ca_der.data();
    const unsigned char* end = ca_der.data() + ca_der.size();
    while (p < end) {
        X509Ptr cert(d2i_X509(nullptr, &p, end - p));
        X509_NAME* name = cert ? X509_NAME_dup(X509_get_subject_name(cert.get())) : nullptr;
        if (!name || sk_X509_NAME_push(names, name) <= 0) {
            X509_NAME_free(name);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return err(ErrorKind::config, "CA names: %s", openssl_errors().c_str());
        }
    }
    return names;
}

bool uri_matches(std::string_view pattern, std::string_view uri) {
    if (!pattern.empty() && pattern.back() == '*') {
        pattern.remove_suffix(1);
        return uri.substr(0, pattern.size()) == pattern;
    }
    return pattern == uri;
}

Status check_client_allowed(const ipc::ServiceTls& p, const PeerNames& n) {
    if (p.allow_cn.empty() && p.allow_dns.empty() && p.allow_uri.empty() && p.allow_spki.empty())
        return {};
    if (!n.cn.empty() && any_of(p.allow_cn, [&](const std::string& a) { return a == n.cn; }))
        return {};
    for (const std::string& dns : n.dns) {
        std::string host;
        if (!normalize_host_name(dns, host)) continue;
        if (any_of(p.allow_dns, [&](const std::string& a) { return host_matches(a, host); }))
            return {};
    }
    for (const std::string& uri : n.uri)
        if (any_of(p.allow_uri, [&](const std::string& a) { return uri_matches(a, uri); }))
            return {};
    if (any_of(p.allow_spki, [&](const ipc::Sha256& a) { return a == n.spki; })) return {};
    return err(ErrorKind::protocol,
               "client certificate %s is not allowed: no allow_cn, allow_dns, allow_uri or "
               "allow_spki entry matches",
               n.describe().c_str());
}

Status check_server_pinned(const ipc::ServiceTls& p, const PeerNames& n) {
    if (p.pin_spki.empty()) return {};
    if (any_of(p.pin_spki, [&](const ipc::Sha256& a) { return a == n.spki; })) return {};
    return err(ErrorKind::protocol,
               "server certificate %s: its public key (SPKI sha256 %s) matches no pin_spki",
               n.describe().c_str(), hex_encode(n.spki).c_str());
}

bool revoked_by_store(X509_STORE* store, X509* cert) {
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    if (!ctx) return true;  // fail closed
    bool revoked = false;
    if (X509_STORE_CTX_init(ctx, store, cert, nullptr) == 1) {
        STACK_OF(X509_CRL)* crls = X509_STORE_CTX_get1_crls(ctx, X509_get_issuer_name(cert));
        for (int i = 0; crls && i < sk_X509_CRL_num(crls); ++i) {
            X509_REVOKED* rev = nullptr;
            if (X509_CRL_get0_by_cert(sk_X509_CRL_value(crls, i), &rev, cert) == 1) revoked = true;
        }
        sk_X509_CRL_pop_free(crls, X509_CRL_free);
    } else {
        revoked = true;
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return revoked;
}

int verify_callback(int preverify_ok, X509_STORE_CTX* xs) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (!ssl) return 0;
    const ServiceContext* svc = service_of(ssl);
    SslNotes* notes = notes_of(ssl);
    bool server = SSL_is_server(ssl) == 1;
    const char* whose = server ? "client" : "server";
    int depth = X509_STORE_CTX_get_error_depth(xs);
    X509* cert = X509_STORE_CTX_get_current_cert(xs);
    if (!preverify_ok) {
        int e = X509_STORE_CTX_get_error(xs);
        if (notes) {
            std::string why =
                strfmt("%s certificate refused: %s (depth %d: %s)", whose,
                       X509_verify_cert_error_string(e), depth, subject_text(cert).c_str());
            if (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH)
                why += strfmt(", expected \"%s\"", svc ? svc->tls.verify_name.c_str() : "?");
            notes->fail(std::move(why));
        }
        return 0;
    }
    if (depth != 0 || !svc || !cert) return 1;
    PeerNames names = peer_names(cert);
    Status s =
        server ? check_client_allowed(svc->tls, names) : check_server_pinned(svc->tls, names);
    if (!s) {
        // bad_certificate, as Go's crypto/tls answers a refused identity.
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        if (notes) notes->fail(s.message());
        return 0;
    }
    return 1;
}

}  // namespace tlsward::cryptoproc
