// Verifying the peer's certificate: the trust store built from the DER the
// supervisor sent (CA certificates, CRLs), the identity of a certificate
// (subject CN, DNS and URI SANs, SPKI SHA-256), the service's allow-lists
// (server role: which clients may connect) and pins (client role: which
// server keys are accepted), and the OpenSSL verify callback that applies
// them and leaves the reason of a refusal in the handshake's notes.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "ipc/tls_settings.hpp"

namespace tlsward::cryptoproc {

// Fetches SHA-256 once (called from key_export_init).
Status peer_verify_init();

struct PeerNames {
    std::string cn;  // first subject CN, UTF-8 ('?' for control characters); empty: none
    std::vector<std::string> dns;
    std::vector<std::string> uri;
    ipc::Sha256 spki{};  // SHA-256 of the DER SubjectPublicKeyInfo

    // "CN=x, DNS=a,b, URI=spiffe://..., SPKI=ab12cd34..." for log lines.
    std::string describe() const;
};
PeerNames peer_names(X509* cert);
ipc::Sha256 spki_sha256(X509* cert);

// A trust store of DER certificates (and CRLs, checked for the leaf when
// any are given). Errors name the object that does not parse.
Result<X509StorePtr> build_trust_store(std::span<const uint8_t> ca_der,
                                       std::span<const uint8_t> crl_der, size_t* ca_count);
// The subjects of the CA certificates, for the CertificateRequest.
Result<STACK_OF(X509_NAME) *> ca_names(std::span<const uint8_t> ca_der);

// Server role: is this client allowed? Ok when the service has no
// allow-list, or any entry of any list matches.
Status check_client_allowed(const ipc::ServiceTls& policy, const PeerNames& names);
// Client role: is this server key pinned? Ok when there are no pins.
Status check_server_pinned(const ipc::ServiceTls& policy, const PeerNames& names);
// Whether the CRLs of a store revoke this certificate (for resumed
// sessions, whose certificate was verified when the ticket was issued).
bool revoked_by_store(X509_STORE* store, X509* cert);

// The SSL_CTX verify callback of both roles: OpenSSL's chain verdict,
// then (for the leaf) the allow-lists or pins. A refusal is recorded in
// the SSL's notes with the certificate it concerns.
int verify_callback(int preverify_ok, X509_STORE_CTX* store_ctx);

// Whether an allow_uri entry matches a URI: equal, or a prefix when the
// entry ends in '*'.
bool uri_matches(std::string_view pattern, std::string_view uri);

}  // namespace tlsward::cryptoproc
