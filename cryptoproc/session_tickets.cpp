#include "cryptoproc/session_tickets.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstring>

#include "common/openssl_error.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "cryptoproc/peer_verify.hpp"
#include "cryptoproc/tls_context.hpp"

namespace tlsward::cryptoproc {

namespace {

// Fetched once per process (docs/internals.md, "Fetch once").
EVP_KDF* g_hkdf = nullptr;
EVP_CIPHER* g_aes = nullptr;

constexpr char kSalt[] = "tlsward session ticket v1";
constexpr size_t kDerivedLen = 16 + 32 + 32;

bool set_mac_key(EVP_MAC_CTX* hctx, const DerivedTicketKey& k) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(k.hmac.data()),
                                          k.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

size_t group_of(SSL* ssl) {
    const SslNotes* notes = notes_of(ssl);
    return notes && notes->group > 0 ? static_cast<size_t>(notes->group) : 0;
}

// SSL_CTX_set_tlsext_ticket_key_evp_cb: 1 = done, 0 = no ticket / no such
// key (full handshake), 2 = opened with an older key (renew), -1 = error.
int ticket_key_callback(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx,
                        EVP_MAC_CTX* hctx, int enc) {
    const ServiceContext* svc = service_of(ssl);
    if (!svc || !g_aes) return 0;
    size_t group = group_of(ssl);
    if (enc == 1) {
        const DerivedTicketKey* k = svc->tickets.sealing_key(group);
        if (!k) return 0;
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(g_aes)) != 1) return -1;
        std::memcpy(key_name, k->name.data(), k->name.size());
        if (EVP_EncryptInit_ex2(cctx, g_aes, k->aes.data(), iv, nullptr) != 1) return -1;
        return set_mac_key(hctx, *k) ? 1 : -1;
    }
    bool current = false;
    const DerivedTicketKey* k = svc->tickets.find(group, key_name, &current);
    if (!k) return 0;
    if (EVP_DecryptInit_ex2(cctx, g_aes, k->aes.data(), iv, nullptr) != 1) return -1;
    if (!set_mac_key(hctx, *k)) return -1;
    return current ? 1 : 2;
}

// A decrypted ticket carries the session as it was when issued; the
// client's certificate was checked then. Check it against today's policy
// (allow-lists and CRLs may have changed with a reload) before resuming;
// a refused session falls back to a full handshake, not a failure.
SSL_TICKET_RETURN on_ticket_decrypted(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                      SSL_TICKET_STATUS status, void*) {
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    const ServiceContext* svc = service_of(ssl);
    if (!svc || !session) return SSL_TICKET_RETURN_IGNORE_RENEW;
    if (svc->tls.verify_client != ipc::VerifyPeer::none) {
        X509* peer = SSL_SESSION_get0_peer(session);
        if (!peer && svc->tls.verify_client == ipc::VerifyPeer::require)
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        if (peer) {
            if (!check_client_allowed(svc->tls, peer_names(peer)))
                return SSL_TICKET_RETURN_IGNORE_RENEW;
            if (svc->has_crls &&
                revoked_by_store(SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), peer))
                return SSL_TICKET_RETURN_IGNORE_RENEW;
        }
    }
    // TLS 1.3 tickets are for one use each (RFC 8446 C.4 asks clients not
    // to reuse one), so a resumed session gets a fresh ticket, as OpenSSL
    // gives with its own keys: without it OpenSSL 3.0 sends none after a
    // resumption, and a client resumes once, then falls back to full
    // handshakes. The ticket goes out in the handshake, before the hand-off,
    // so it precedes any application data. TLS 1.2 renews only tickets
    // sealed with an older key (the key callback says which).
    if (status == SSL_TICKET_SUCCESS_RENEW || SSL_version(ssl) == TLS1_3_VERSION)
        return SSL_TICKET_RETURN_USE_RENEW;
    return SSL_TICKET_RETURN_USE;
}

}  // namespace

Status session_tickets_init() {
    if (g_hkdf) return {};
    g_hkdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
    g_aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    if (!g_hkdf || !g_aes)
        return err(ErrorKind::internal, "fetching HKDF and AES-256-CBC: %s",
                   openssl_errors().c_str());
    return {};
}

Status TicketKeys::derive(const ipc::CpTicketKeys& master,
                          const std::vector<ipc::Sha256>& contexts) {
    if (!g_hkdf) return err(ErrorKind::internal, "session_tickets_init was not called");
    if (master.keys.empty() || master.encrypt_index >= master.keys.size())
        return err(ErrorKind::internal, "no sealing key among %zu ticket keys", master.keys.size());
    std::vector<std::vector<DerivedTicketKey>> rings(contexts.size());
    for (size_t g = 0; g < contexts.size(); ++g) {
        for (const SecretBytes& key : master.keys) {
            EvpKdfCtxPtr kctx(EVP_KDF_CTX_new(g_hkdf));
            if (!kctx)
                return err(ErrorKind::internal, "EVP_KDF_CTX_new(HKDF): %s",
                           openssl_errors().c_str());
            char digest[] = "SHA256";
            OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(key.data()), key.size()),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt),
                                                  sizeof kSalt - 1),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<uint8_t*>(contexts[g].data()),
                                                  contexts[g].size()),
                OSSL_PARAM_construct_end(),
            };
            SecretBytes out(kDerivedLen);
            if (EVP_KDF_derive(kctx.get(), out.data(), out.size(), params) != 1)
                return err(ErrorKind::internal, "HKDF of a ticket key: %s",
                           openssl_errors().c_str());
            DerivedTicketKey d;
            std::memcpy(d.name.data(), out.data(), 16);
            d.hmac = SecretBytes(out.data() + 16, 32);
            d.aes = SecretBytes(out.data() + 48, 32);
            rings[g].push_back(std::move(d));
        }
    }
    rings_ = std::move(rings);
    sealing_ = master.encrypt_index;
    return {};
}

const DerivedTicketKey* TicketKeys::sealing_key(size_t group) const {
    if (group >= rings_.size() || sealing_ >= rings_[group].size()) return nullptr;
    return &rings_[group][sealing_];
}

const DerivedTicketKey* TicketKeys::find(size_t group, const uint8_t name[16],
                                         bool* current) const {
    if (group >= rings_.size()) return nullptr;
    const std::vector<DerivedTicketKey>& ring = rings_[group];
    for (size_t i = 0; i < ring.size(); ++i) {
        if (CRYPTO_memcmp(ring[i].name.data(), name, 16) != 0) continue;
        if (current) *current = i == sealing_;
        return &ring[i];
    }
    return nullptr;
}

Status install_ticket_callbacks(SSL_CTX* ctx) {
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &ticket_key_callback) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_tlsext_ticket_key_evp_cb: %s",
                   openssl_errors().c_str());
    if (SSL_CTX_set_session_ticket_cb(ctx, nullptr, &on_ticket_decrypted, nullptr) != 1)
        return err(ErrorKind::internal, "SSL_CTX_set_session_ticket_cb: %s",
                   openssl_errors().c_str());
    return {};
}

}  // namespace tlsward::cryptoproc
