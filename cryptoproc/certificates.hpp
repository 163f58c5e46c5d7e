// A server's certificates, grouped by the server names they serve (SNI),
// with at most one certificate per key type in a group so that OpenSSL can
// choose ECDSA or RSA by what the client supports, and the OCSP response
// stapled with each.
//
// Groups: every server name maps to the certificates that carry it. The
// default group (index 0) is that of the first certificate's first name
// (or the first certificate alone when it names nothing); it serves
// clients without SNI and, unless the service refuses them, unknown names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "cryptoproc/openssl_ptr.hpp"

namespace tlsward::cryptoproc {

// A certificate chain (PEM, leaf first), its private key (PEM), the names
// it serves and the OCSP response to staple (DER, may be empty). With a
// remote key id the private key is the signer's (cryptoproc/remote_key.hpp)
// and key_pem is empty.
struct CertificateSpec {
    std::string chain_pem;
    SecretBytes key_pem;
    std::vector<std::string> names;
    std::vector<uint8_t> ocsp_der;
    uint64_t remote_key_id = 0;  // 0: the key is key_pem
    uint8_t remote_kinds = 0;    // what the remote key signs (ipc::kServerKinds, kClientKinds)
};

struct CertificateEntry {
    X509Ptr leaf;
    EvpPkeyPtr key;
    X509StackPtr chain;  // intermediates, may be empty
    std::vector<uint8_t> ocsp_der;
    std::vector<std::string> names;
    int key_type = 0;
};

struct CertificateGroup {
    std::vector<size_t> members;  // indices into entries(), in configuration order
    std::string label;            // the group's names, sorted, comma-separated
};

class CertificateSet {
public:
    // Parses every chain and key and groups them; an error names the
    // certificate (1-based) and what is wrong.
    static Result<CertificateSet> build(const std::vector<CertificateSpec>& specs);

    // The group serving a server name (lower case, no trailing dot): an
    // exact name first, then a wildcard one label deep. -1: none.
    int find(std::string_view server_name) const;
    // Loads the default group into the SSL_CTX (what every SSL starts with);
    // with a remote key, also SSL_MODE_ASYNC (the signature pauses).
    Status install_default(SSL_CTX* ctx) const;
    // Replaces the SSL's certificates with those of another group.
    Status select(SSL* ssl, size_t group) const;
    // The OCSP response for the leaf OpenSSL chose, null if none.
    const std::vector<uint8_t>* staple_for(const X509* leaf) const;
    bool has_staples() const;
    bool has_remote_keys() const;

    const std::vector<CertificateEntry>& entries() const { return entries_; }
    const std::vector<CertificateGroup>& groups() const { return groups_; }
    bool empty() const { return entries_.empty(); }

private:
    std::vector<CertificateEntry> entries_;
    std::vector<CertificateGroup> groups_;
    std::map<std::string, size_t, std::less<>> exact_;     // name -> group
    std::map<std::string, size_t, std::less<>> wildcard_;  // "example.com" of "*.example.com"
};

// Parses a PEM chain (leaf first) and a PEM private key.
Result<std::vector<X509Ptr>> read_pem_chain(const std::string& pem);
Result<EvpPkeyPtr> read_pem_key(const SecretBytes& pem);

// Lower-cases an ASCII host name and drops one trailing dot; false if it
// is not a host name (empty, too long, a character outside a-z 0-9 - . _).
bool normalize_host_name(std::string_view in, std::string& out);
// Whether a host name matches a pattern: equal, or "*.rest" with exactly
// one label in place of the star. Both lower case.
bool host_matches(std::string_view pattern, std::string_view host);

}  // namespace tlsward::cryptoproc
