// One SSL_CTX per service, built from the PEM bytes the supervisor sent
// (the helper opens no file), and the per-job cipher restriction to the
// AEADs netproc's record layer can run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "ipc/messages.hpp"

namespace tlsward::cryptoproc {

// A certificate chain (PEM, leaf first) and its private key (PEM).
struct CertificateSpec {
    std::string chain_pem;
    SecretBytes key_pem;
};

// What the supervisor sent for one service (CP_SERVICE + CP_CERTIFICATEs).
struct ServiceSpec {
    uint32_t id = 0;
    std::string name;
    ipc::TlsRole role = ipc::TlsRole::server;
    uint32_t handshake_timeout_ms = 10000;
    std::vector<CertificateSpec> certificates;
};

// One service's TLS state, immutable once built.
struct ServiceContext {
    uint32_t id = 0;
    std::string name;
    ipc::TlsRole role = ipc::TlsRole::server;
    uint32_t handshake_timeout_ms = 10000;
    // Null when the role is not supported yet (client): jobs for the
    // service then fail with HANDSHAKE_FAILED internal.
    SslCtxPtr ctx;
    std::string unsupported;  // why ctx is null
};

// Builds the SSL_CTX: TLS 1.2/1.3, ECDHE + AEAD suites of common/tls_suites,
// no renegotiation, compression, tickets, session cache or 0-RTT. The
// error names the service, the certificate and the OpenSSL reason.
Result<std::unique_ptr<ServiceContext>> build_service_context(const ServiceSpec& spec);

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

}  // namespace tlsward::cryptoproc
