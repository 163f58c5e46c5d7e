// Certificate and key files: read by the supervisor (as root, before any
// helper exists), checked with OpenSSL, and handed to the crypto helpers as
// PEM. The key never passes through a std::string.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {

struct LoadedCertificate {
    std::string chain_pem;  // the certificates only, re-encoded, leaf first
    SecretBytes key_pem;    // the private key only, re-encoded as PKCS#8 PEM
    // "CN=www.example.com, ECDSA P-256, not after 2026-01-31T12:00:00Z, chain of 2"
    std::string summary;
    int key_type = 0;      // EVP_PKEY_get_base_id: one certificate per type per service
    std::string key_text;  // "ECDSA P-256", "RSA-2048", "Ed25519"
    bool expired = false;  // notAfter has passed (not an error; warn)
    std::vector<std::string> warnings;  // expired, not yet valid, chain order, key file mode
};

// Reads a PEM certificate chain (leaf first) and a PEM private key (which may
// be in the same file: key_path == cert_path) and checks that the chain
// parses, the key parses and the key matches the leaf. Errors name the file:
//   "/etc/x/key.pem: not a PEM private key"
//   "/etc/x/key.pem: key does not match certificate /etc/x/cert.pem"
// Encrypted keys are refused (no passphrase prompt, ever).
Result<LoadedCertificate> load_certificate(const CertificateFiles& files);

}  // namespace tlsward::supervisor
