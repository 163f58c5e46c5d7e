#include "cryptoproc/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>
#include <optional>

#include "common/bytes.hpp"
#include "common/openssl_error.hpp"
#include "common/tls_suites.hpp"
#include "cryptoproc/key_export.hpp"
#include "cryptoproc/peer_verify.hpp"

namespace tlsward::cryptoproc {

namespace {

constexpr const char* kGroups = "X25519:P-256:P-384";
// TLS 1.3 tickets per full handshake: one record after the server's
// Finished, counted into the sequence numbers handed to netproc.
constexpr size_t kTls13Tickets = 1;
// Rejected early data a server skips before it gives up on the client:
// OpenSSL's default (SSL3_RT_MAX_PLAIN_LENGTH), one full record's worth.
constexpr uint32_t kSkippedEarlyData = 16384;

int notes_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool is_ip_literal(const std::string& s) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

ipc::Sha256 sha256(std::span<const uint8_t> data) {
    ipc::Sha256 out{};
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr);
    return out;
}

// The session id context of one certificate group: the service, the names
// the group serves and how clients are verified. A session (ticket or
// cache entry) made under one context never resumes under another. Fails
// rather than hash a cut input (names too long for their u16 prefixes),
// which could give two groups one context.
Result<ipc::Sha256> session_context(const ServiceSpec& spec, const std::string& group_label) {
    SecureBytes in;
    ByteWriter w(in);
    w.bytes(std::string_view("tlsward session context v1"));
    w.u8(0);
    w.u16_string(spec.name);
    w.u16_string(group_label);
    w.u8(static_cast<uint8_t>(spec.tls.verify_client));
    w.bytes(sha256(spec.client_ca_der));
    if (!w.ok())
        return err(ErrorKind::config,
                   "the server names of a certificate group are too long (%zu bytes)",
                   group_label.size());
    return sha256(in);
}

Status configure_common(SSL_CTX* ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_min/max_proto_version: %s",
                   openssl_errors().c_str());
    const CipherStrings& all = cipher_strings(ipc::kAeadAll);
    if (SSL_CTX_set_ciphersuites(ctx, all.tls13.c_str()) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_ciphersuites(%s): %s", all.tls13.c_str(),
                   openssl_errors().c_str());
    if (SSL_CTX_set_cipher_list(ctx, all.tls12.c_str()) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_cipher_list(%s): %s", all.tls12.c_str(),
                   openssl_errors().c_str());
    if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set1_groups_list(%s): %s", kGroups,
                   openssl_errors().c_str());
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // 0-RTT is never accepted (no ticket offers it), but a client that tries
    // anyway gets a full handshake (RFC 8446 4.2.10): OpenSSL skips the
    // early data it cannot decrypt, up to the receive limit, which must not
    // be 0 (that made OpenSSL abort with "too much early data").
    if (SSL_CTX_set_max_early_data(ctx, 0) != 1 ||
        SSL_CTX_set_recv_max_early_data(ctx, kSkippedEarlyData) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_max_early_data: %s", openssl_errors().c_str());
    // Without read-ahead OpenSSL takes exactly one record at a time from
    // the read BIO; what follows the handshake stays there (the leftover).
    SSL_CTX_set_read_ahead(ctx, 0);
    SSL_CTX_set_keylog_callback(ctx, &keylog_callback);
    return {};
}

// --- server callbacks ------------------------------------------------------

// The first host_name of a server_name extension, lower case. False if
// the extension is malformed.
bool parse_server_name(const unsigned char* data, size_t len, std::string& out) {
    ByteReader r(std::span<const uint8_t>(data, len));
    ByteReader list;
    if (!r.u16_prefixed(list) || !r.done() || list.empty()) return false;
    while (!list.empty()) {
        uint8_t type = 0;
        ByteReader name;
        if (!list.u8(type) || !list.u16_prefixed(name)) return false;
        if (type != TLSEXT_NAMETYPE_host_name || !out.empty()) continue;
        if (!normalize_host_name(as_string_view(name.rest()), out)) return false;
    }
    return !out.empty();
}

// Runs before OpenSSL looks at anything else of the ClientHello (versions,
// suites, the ticket): picks the certificates for the server name and the
// session id context that goes with them.
int on_client_hello(SSL* ssl, int* alert, void*) {
    const ServiceContext* svc = service_of(ssl);
    SslNotes* notes = notes_of(ssl);
    if (!svc) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    const unsigned char* ext = nullptr;
    size_t ext_len = 0;
    std::string name;
    size_t group = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1) {
        if (!parse_server_name(ext, ext_len, name)) {
            if (notes) notes->fail("malformed server_name extension");
            *alert = SSL_AD_DECODE_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        int found = svc->certificates.find(name);
        if (found > 0) {
            group = static_cast<size_t>(found);
        } else if (found < 0 && svc->tls.unknown_sni == ipc::UnknownSni::refuse) {
            if (notes)
                notes->fail(
                    strfmt("unknown server name \"%s\" (unknown_sni = refuse)", name.c_str()));
            *alert = SSL_AD_UNRECOGNIZED_NAME;
            return SSL_CLIENT_HELLO_ERROR;
        }
    }
    if (group != 0) {
        if (auto s = svc->certificates.select(ssl, group); !s) {
            if (notes) notes->fail(s.message());
            *alert = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
    }
    const ipc::Sha256& sid = svc->contexts.at(group);
    if (SSL_set_session_id_context(ssl, sid.data(), sid.size()) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (notes) notes->group = static_cast<int>(group);
    return SSL_CLIENT_HELLO_SUCCESS;
}

// Acknowledges the server name (the certificate was chosen already).
int on_servername(SSL*, int*, void*) {
    return SSL_TLSEXT_ERR_OK;
}

std::string alpn_text(const unsigned char* in, unsigned int len) {
    std::string out;
    ByteReader r(std::span<const uint8_t>(in, len));
    ByteReader p;
    while (r.u8_prefixed(p)) {
        if (!out.empty()) out += ',';
        for (uint8_t c : p.rest()) out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
        if (out.size() > 200) break;
    }
    return out;
}

// The server's order of preference; no common protocol is refused with
// no_application_protocol (RFC 7301). A client without ALPN is accepted.
int on_alpn_select(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* in, unsigned int inlen, void*) {
    const ServiceContext* svc = service_of(ssl);
    if (!svc || svc->alpn_wire.empty()) return SSL_TLSEXT_ERR_NOACK;
    unsigned char* chosen = nullptr;
    unsigned char chosen_len = 0;
    if (SSL_select_next_proto(&chosen, &chosen_len, svc->alpn_wire.data(),
                              static_cast<unsigned int>(svc->alpn_wire.size()), in,
                              inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = chosen;
        *outlen = chosen_len;
        return SSL_TLSEXT_ERR_OK;
    }
    if (SslNotes* notes = notes_of(ssl))
        notes->fail(strfmt(
            "no common ALPN protocol: the client offers %s, the service accepts %s",
            alpn_text(in, inlen).c_str(),
            alpn_text(svc->alpn_wire.data(), static_cast<unsigned int>(svc->alpn_wire.size()))
                .c_str()));
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// OCSP stapling: the response that goes with the certificate OpenSSL chose.
int on_status_request(SSL* ssl, void*) {
    const ServiceContext* svc = service_of(ssl);
    const std::vector<uint8_t>* staple =
        svc ? svc->certificates.staple_for(SSL_get_certificate(ssl)) : nullptr;
    if (!staple) return SSL_TLSEXT_ERR_NOACK;
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(staple->data(), staple->size()));
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple->size())) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

Status configure_server(ServiceContext& svc, const ServiceSpec& spec) {
    SSL_CTX* ctx = svc.ctx.get();
    auto certs = CertificateSet::build(spec.certificates);
    if (!certs) return certs.error();
    svc.certificates = std::move(*certs);
    if (auto s = svc.certificates.install_default(ctx); !s) return s;
    for (const CertificateGroup& g : svc.certificates.groups()) {
        auto sid = session_context(spec, g.label);
        if (!sid) return sid.error();
        svc.contexts.push_back(*sid);
    }
    const ipc::Sha256& sid = svc.contexts.front();
    if (SSL_CTX_set_session_id_context(ctx, sid.data(), sid.size()) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_session_id_context: %s",
                   openssl_errors().c_str());
    SSL_CTX_set_client_hello_cb(ctx, &on_client_hello, nullptr);
    SSL_CTX_set_tlsext_servername_callback(ctx, &on_servername);

    if (!svc.alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(ctx, &on_alpn_select, nullptr);
    if (svc.certificates.has_staples() &&
        SSL_CTX_set_tlsext_status_cb(ctx, &on_status_request) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_tlsext_status_cb: %s",
                   openssl_errors().c_str());

    // Client certificates.
    if (spec.tls.verify_client != ipc::VerifyPeer::none) {
        if (spec.client_ca_der.empty())
            return err(ErrorKind::protocol, "verify_client is set but no client CA was sent");
        size_t count = 0;
        auto store = build_trust_store(spec.client_ca_der, spec.crl_der, &count);
        if (!store) return context("client CA", store.error());
        svc.has_crls = !spec.crl_der.empty();
        SSL_CTX_set_cert_store(ctx, store->release());
        auto names = ca_names(spec.client_ca_der);
        if (!names) return names.error();
        SSL_CTX_set_client_CA_list(ctx, *names);
        int mode = SSL_VERIFY_PEER;
        if (spec.tls.verify_client == ipc::VerifyPeer::require)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, &verify_callback);
        SSL_CTX_set_verify_depth(ctx, 10);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }

    // Sessions: stateless tickets only (no cache: helpers share nothing
    // but the ticket keys). No tickets until the keys have arrived
    // (ServiceContext::set_ticket_keys turns them on).
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_num_tickets: %s", openssl_errors().c_str());
    if (spec.tls.session_tickets) {
        SSL_CTX_set_timeout(ctx, spec.tls.session_lifetime_s > 0 ? spec.tls.session_lifetime_s : 1);
        if (auto s = install_ticket_callbacks(ctx); !s) return s;
    }
    return {};
}

Status configure_client(ServiceContext& svc, const ServiceSpec& spec) {
    SSL_CTX* ctx = svc.ctx.get();
    // Outgoing sessions are not resumed: no tickets asked for, no cache.
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (spec.certificates.size() > 1)
        return err(ErrorKind::protocol, "a client presents at most one certificate");
    if (!spec.certificates.empty()) {
        auto certs = CertificateSet::build(spec.certificates);
        if (!certs) return context("client certificate", certs.error());
        svc.certificates = std::move(*certs);
        if (auto s = svc.certificates.install_default(ctx); !s)
            return context("client certificate", s.error());
    }
    if (spec.server_ca_der.empty())
        return err(ErrorKind::protocol, "no CA to verify the server with");
    if (spec.tls.verify_name.empty())
        return err(ErrorKind::protocol, "no name to verify the server certificate with");
    size_t count = 0;
    auto store = build_trust_store(spec.server_ca_der, {}, &count);
    if (!store) return context("server CA", store.error());
    SSL_CTX_set_cert_store(ctx, store->release());
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_ip_literal(spec.tls.verify_name)
                 ? X509_VERIFY_PARAM_set1_ip_asc(param, spec.tls.verify_name.c_str())
                 : X509_VERIFY_PARAM_set1_host(param, spec.tls.verify_name.c_str(), 0);
    if (ok != 1)
        return err(ErrorKind::config, "verification name \"%s\": %s", spec.tls.verify_name.c_str(),
                   openssl_errors().c_str());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &verify_callback);
    SSL_CTX_set_verify_depth(ctx, 10);
    if (!svc.alpn_wire.empty() &&
        SSL_CTX_set_alpn_protos(ctx, svc.alpn_wire.data(),
                                static_cast<unsigned int>(svc.alpn_wire.size())) != 0)
        return err(ErrorKind::internal, "SSL_CTX_set_alpn_protos: %s", openssl_errors().c_str());
    return {};
}

}  // namespace

Status attach_notes(SSL* ssl, SslNotes* notes) {
    int idx = notes_index();
    if (idx < 0 || SSL_set_ex_data(ssl, idx, notes) != 1)
        return err(ErrorKind::internal, "SSL_set_ex_data(notes): %s", openssl_errors().c_str());
    return {};
}

SslNotes* notes_of(const SSL* ssl) {
    int idx = notes_index();
    return idx < 0 ? nullptr : static_cast<SslNotes*>(SSL_get_ex_data(ssl, idx));
}

const ServiceContext* service_of(const SSL* ssl) {
    SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
    return ctx ? static_cast<const ServiceContext*>(SSL_CTX_get_app_data(ctx)) : nullptr;
}

std::vector<uint8_t> alpn_wire_format(const std::vector<std::string>& protocols) {
    std::vector<uint8_t> out;
    for (const std::string& p : protocols) {
        if (p.empty() || p.size() > 255) continue;
        out.push_back(static_cast<uint8_t>(p.size()));
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

Status ServiceContext::set_ticket_keys(const ipc::CpTicketKeys& keys) {
    if (role != ipc::TlsRole::server || !tls.session_tickets || !ctx) return {};
    if (auto s = tickets.derive(keys, contexts); !s) return s;
    // New SSLs issue tickets from now on (each SSL copies these at SSL_new).
    SSL_CTX_clear_options(ctx.get(), SSL_OP_NO_TICKET);
    if (SSL_CTX_set_num_tickets(ctx.get(), kTls13Tickets) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_num_tickets: %s", openssl_errors().c_str());
    return {};
}

Result<std::unique_ptr<ServiceContext>> build_service_context(const ServiceSpec& spec) {
    auto svc = std::make_unique<ServiceContext>();
    svc->id = spec.id;
    svc->name = spec.name;
    svc->role = spec.role;
    svc->handshake_timeout_ms = spec.handshake_timeout_ms;
    svc->tls = spec.tls;
    svc->alpn_wire = alpn_wire_format(spec.tls.alpn);
    auto where = [&](const Error& e) {
        return context(strfmt("service %s (id %u)", spec.name.c_str(), spec.id), e);
    };
    bool server = spec.role == ipc::TlsRole::server;
    if (server && spec.certificates.empty())
        return where(err(ErrorKind::protocol, "no certificate"));
    ERR_clear_error();
    SslCtxPtr ctx(
        SSL_CTX_new_ex(nullptr, nullptr, server ? TLS_server_method() : TLS_client_method()));
    if (!ctx)
        return where(err(ErrorKind::internal, "SSL_CTX_new_ex: %s", openssl_errors().c_str()));
    SSL_CTX_set_app_data(ctx.get(), svc.get());
    svc->ctx = std::move(ctx);
    if (auto s = configure_common(svc->ctx.get()); !s) return where(s.error());
    Status s = server ? configure_server(*svc, spec) : configure_client(*svc, spec);
    if (!s) return where(s.error());
    ERR_clear_error();
    return svc;
}

Status prepare_ssl(SSL* ssl, const ServiceContext& service, const std::string& job_server_name) {
    if (service.role != ipc::TlsRole::client) return {};
    const std::string& name = job_server_name.empty() ? service.tls.server_name : job_server_name;
    if (name.empty() || is_ip_literal(name)) return {};
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
        return err(ErrorKind::internal, "SSL_set_tlsext_host_name(%s): %s", name.c_str(),
                   openssl_errors().c_str());
    return {};
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
    if (s.tls13.empty() && s.tls12.empty())
        return err(ErrorKind::protocol, "AEAD mask 0x%02x has no suite", aead_mask);
    if (SSL_set_ciphersuites(ssl, s.tls13.c_str()) != 1)
        return err(ErrorKind::internal, "SSL_set_ciphersuites(%s): %s", s.tls13.c_str(),
                   openssl_errors().c_str());
    if (s.tls13.empty() && SSL_set_max_proto_version(ssl, TLS1_2_VERSION) != 1)
        return err(ErrorKind::internal, "SSL_set_max_proto_version: %s", openssl_errors().c_str());
    if (s.tls12.empty()) {
        if (SSL_set_min_proto_version(ssl, TLS1_3_VERSION) != 1)
            return err(ErrorKind::internal, "SSL_set_min_proto_version: %s",
                       openssl_errors().c_str());
    } else if (SSL_set_cipher_list(ssl, s.tls12.c_str()) != 1) {
        return err(ErrorKind::internal, "SSL_set_cipher_list(%s): %s", s.tls12.c_str(),
                   openssl_errors().c_str());
    }
    return {};
}

}  // namespace tlsward::cryptoproc
