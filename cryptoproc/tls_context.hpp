// One SSL_CTX per service, built from the bytes the supervisor sent (the
// helper opens no file): certificates with their server names and OCSP
// staples, the trust store, the service's policy (client verification and
// allow-lists, SNI, ALPN, tickets; or, in the client role, how the target
// is verified), and the per-job cipher restriction to the AEADs netproc's
// record layer can run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "cryptoproc/certificates.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "cryptoproc/session_tickets.hpp"
#include "ipc/messages.hpp"

namespace tlsward::cryptoproc {

// What the supervisor sent for one service (CP_SERVICE, CP_CERTIFICATEs,
// CP_TRUSTs).
struct ServiceSpec {
    uint32_t id = 0;
    std::string name;
    ipc::TlsRole role = ipc::TlsRole::server;
    uint32_t handshake_timeout_ms = 10000;
    ipc::ServiceTls tls;
    std::vector<CertificateSpec> certificates;
    std::vector<uint8_t> client_ca_der;  // server role: DER certificates back to back
    std::vector<uint8_t> server_ca_der;  // client role
    std::vector<uint8_t> crl_der;        // server role: DER CRLs back to back
};

// One service's TLS state. Immutable once built, except the derived
// ticket keys, which CP_TICKET_KEYS replaces.
struct ServiceContext {
    uint32_t id = 0;
    std::string name;
    ipc::TlsRole role = ipc::TlsRole::server;
    uint32_t handshake_timeout_ms = 10000;
    ipc::ServiceTls tls;
    SslCtxPtr ctx;
    std::string unsupported;            // why ctx is null (never, today)
    CertificateSet certificates;        // server role (client role: at most one, on ctx)
    std::vector<uint8_t> alpn_wire;     // tls.alpn in wire format
    std::vector<ipc::Sha256> contexts;  // session id context per certificate group
    TicketKeys tickets;
    bool has_crls = false;

    // Takes new master keys: every group's ticket keys are derived again.
    Status set_ticket_keys(const ipc::CpTicketKeys& keys);
};

// Per-SSL notes the callbacks leave for the handshake (found by SSL ex data).
struct SslNotes {
    int group = -1;       // certificate group chosen by SNI (server role)
    std::string failure;  // why a callback refused the handshake; first reason wins
    void fail(std::string why) {
        if (failure.empty()) failure = std::move(why);
    }
};
Status attach_notes(SSL* ssl, SslNotes* notes);
SslNotes* notes_of(const SSL* ssl);
const ServiceContext* service_of(const SSL* ssl);

// Builds the SSL_CTX: TLS 1.2/1.3, ECDHE + AEAD suites of common/tls_suites,
// no renegotiation, compression, session cache or 0-RTT; tickets only with
// the shared keys. The error names the service, the certificate and the
// OpenSSL reason.
Result<std::unique_ptr<ServiceContext>> build_service_context(const ServiceSpec& spec);

// Sets up what one SSL of the service needs before its first handshake
// step: SNI to send (client role; job_server_name overrides the
// configured one, IP literals are never sent).
Status prepare_ssl(SSL* ssl, const ServiceContext& service, const std::string& job_server_name);

// TLS 1.3 ciphersuites and TLS 1.2 cipher list limited to an ipc::AeadBits
// mask, built from common/tls_suites once per mask and cached. Either
// string may be empty (no suite of that version in the mask).
struct CipherStrings {
    std::string tls13;
    std::string tls12;
};
const CipherStrings& cipher_strings(uint8_t aead_mask);

// Restricts one SSL to the suites of the mask (and to the TLS versions that
// still have a suite).
Status restrict_ciphers(SSL* ssl, uint8_t aead_mask);

// ALPN protocol list in wire format (u8-prefixed names).
std::vector<uint8_t> alpn_wire_format(const std::vector<std::string>& protocols);

}  // namespace tlsward::cryptoproc
