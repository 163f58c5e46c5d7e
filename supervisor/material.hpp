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
    // Server names it serves: CertificateFiles::names, else its DNS SANs
    // (else its CN when that is a host name). Lower case.
    std::vector<std::string> names;
    std::vector<uint8_t> ocsp_der;      // the OCSP response to staple (CertificateFiles::ocsp_path)
    std::vector<std::string> warnings;  // expired, not yet valid, chain order, key file mode
};

// Reads a PEM certificate chain (leaf first) and a PEM private key (which may
// be in the same file: key_path == cert_path) and checks that the chain
// parses, the key parses and the key matches the leaf. Errors name the file:
//   "/etc/x/key.pem: not a PEM private key"
//   "/etc/x/key.pem: key does not match certificate /etc/x/cert.pem"
// Encrypted keys are refused (no passphrase prompt, ever). On an error,
// *failed (when given) says which file it is about, so that `tlsward check`
// can name the line of that file's key.
enum class CertificatePart { cert, key, ocsp };
Result<LoadedCertificate> load_certificate(const CertificateFiles& files,
                                           CertificatePart* failed = nullptr);

// CA certificates or CRLs as the helpers get them: DER objects back to back.
struct LoadedTrust {
    std::vector<uint8_t> der;
    size_t count = 0;
    std::string summary;  // "3 CA certificates from /etc/tlsward/clients-ca.pem"
    std::vector<std::string> warnings;
};
// At most this much DER per service and kind (the helper's limit too).
inline constexpr size_t kMaxTrustBytes = 16u << 20;

// CA certificates from a PEM file (a bundle) or a directory of PEM files
// (each regular file; duplicates, e.g. c_rehash links, count once).
Result<LoadedTrust> load_ca_certificates(const std::string& path);
// CRLs (PEM or DER) from each file; warns about expired ones (OpenSSL then
// refuses every certificate of that CA).
Result<LoadedTrust> load_crls(const std::vector<std::string>& paths);
// An OCSP response (DER) for a certificate: it must parse, be successful
// and (when it can be told) be about this certificate. Warns when it is
// expired or does not say "good". At most kMaxOcspBytes.
inline constexpr size_t kMaxOcspBytes = 16 * 1024;
Result<std::vector<uint8_t>> load_ocsp_response(const std::string& path,
                                                const std::string& chain_pem,
                                                std::vector<std::string>& warnings);

}  // namespace tlsward::supervisor
