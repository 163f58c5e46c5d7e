#include "cryptoproc/certificates.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>

#include "common/openssl_error.hpp"
#include "cryptoproc/remote_key.hpp"

namespace tlsward::cryptoproc {

namespace {

// PEM passphrase callback: encrypted keys are refused rather than prompted
// for on a terminal the helper does not have.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

BioPtr memory_bio(const void* data, size_t len) {
    return BioPtr(BIO_new_mem_buf(data, static_cast<int>(len)));
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) {
        if (!out.empty()) out += ',';
        out += s;
    }
    return out;
}

}  // namespace

bool normalize_host_name(std::string_view in, std::string& out) {
    if (!in.empty() && in.back() == '.') in.remove_suffix(1);
    if (in.empty() || in.size() > 253) return false;
    out.clear();
    out.reserve(in.size());
    for (char c : in) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) return false;
        out += c;
    }
    return out.front() != '.' && out.find("..") == std::string::npos;
}

bool host_matches(std::string_view pattern, std::string_view host) {
    if (pattern == host) return true;
    if (pattern.size() < 3 || pattern.substr(0, 2) != "*.") return false;
    size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return host.substr(dot + 1) == pattern.substr(2);
}

Result<std::vector<X509Ptr>> read_pem_chain(const std::string& pem) {
    BioPtr bio = memory_bio(pem.data(), pem.size());
    if (!bio) return err(ErrorKind::internal, "BIO_new_mem_buf: %s", openssl_errors().c_str());
    std::vector<X509Ptr> chain;
    for (;;) {
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
        if (!cert) break;
        chain.push_back(std::move(cert));
    }
    // The loop ends on "no start line" at the end of the input; anything
    // else is a broken certificate.
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
        !chain.empty()) {
        ERR_clear_error();
    } else if (e != 0 || chain.empty()) {
        return err(ErrorKind::config, "certificate chain: %s",
                   chain.empty() && e == 0 ? "no certificate in PEM" : openssl_errors().c_str());
    }
    return chain;
}

Result<EvpPkeyPtr> read_pem_key(const SecretBytes& pem) {
    BioPtr bio = memory_bio(pem.data(), pem.size());
    if (!bio) return err(ErrorKind::internal, "BIO_new_mem_buf: %s", openssl_errors().c_str());
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
        return err(ErrorKind::config, "private key (encrypted keys are not supported): %s",
                   openssl_errors().c_str());
    return key;
}

Result<CertificateSet> CertificateSet::build(const std::vector<CertificateSpec>& specs) {
    CertificateSet set;
    for (size_t i = 0; i < specs.size(); ++i) {
        const CertificateSpec& spec = specs[i];
        auto where = [&](const Error& e) { return context(strfmt("certificate %zu", i + 1), e); };
        auto chain = read_pem_chain(spec.chain_pem);
        if (!chain) return where(chain.error());
        auto key = spec.remote_key_id != 0 ? make_remote_key(X509_get0_pubkey(chain->front().get()),
                                                             spec.remote_key_id, spec.remote_kinds)
                                           : read_pem_key(spec.key_pem);
        if (!key) return where(key.error());
        CertificateEntry e;
        e.leaf = std::move(chain->front());
        if (X509_check_private_key(e.leaf.get(), key->get()) != 1)
            return where(err(ErrorKind::config,
                             "the private key does not match the leaf certificate: %s",
                             openssl_errors().c_str()));
        e.key_type = EVP_PKEY_get_base_id(key->get());
        e.key = std::move(*key);
        e.chain.reset(sk_X509_new_null());
        if (!e.chain)
            return where(
                err(ErrorKind::internal, "sk_X509_new_null: %s", openssl_errors().c_str()));
        for (size_t j = 1; j < chain->size(); ++j) {
            if (sk_X509_push(e.chain.get(), (*chain)[j].get()) <= 0)
                return where(
                    err(ErrorKind::internal, "sk_X509_push: %s", openssl_errors().c_str()));
            (void)(*chain)[j].release();  // the stack owns it now
        }
        for (const std::string& n : spec.names) {
            std::string host;
            bool wildcard = n.rfind("*.", 0) == 0;
            if (!normalize_host_name(wildcard ? std::string_view(n).substr(2) : n, host))
                return where(err(ErrorKind::config, "\"%s\" is not a server name", n.c_str()));
            std::string name = wildcard ? "*." + host : host;
            if (std::find(e.names.begin(), e.names.end(), name) == e.names.end())
                e.names.push_back(std::move(name));
        }
        e.ocsp_der = spec.ocsp_der;
        set.entries_.push_back(std::move(e));
    }
    if (set.entries_.empty()) return err(ErrorKind::protocol, "no certificate");

    // Every name with the certificates that carry it, at most one per key type.
    std::map<std::string, std::vector<size_t>> by_name;
    for (size_t i = 0; i < set.entries_.size(); ++i) {
        for (const std::string& n : set.entries_[i].names) {
            std::vector<size_t>& members = by_name[n];
            for (size_t other : members)
                if (set.entries_[other].key_type == set.entries_[i].key_type)
                    return err(ErrorKind::config,
                               "certificates %zu and %zu both serve \"%s\" with a %s key (one "
                               "certificate per key type and name)",
                               other + 1, i + 1, n.c_str(),
                               EVP_PKEY_get0_type_name(set.entries_[i].key.get()));
            members.push_back(i);
        }
    }
    // Groups: distinct member lists; the default one first.
    // Certificates without a name serve the default group only.
    std::vector<size_t> primary;  // what the first certificate's first name has
    if (!set.entries_[0].names.empty()) primary = by_name[set.entries_[0].names[0]];
    std::vector<size_t> default_members = primary.empty() ? std::vector<size_t>{0} : primary;
    for (size_t i = 1; i < set.entries_.size(); ++i) {
        if (!set.entries_[i].names.empty()) continue;
        for (size_t other : default_members)
            if (set.entries_[other].key_type == set.entries_[i].key_type)
                return err(
                    ErrorKind::config,
                    "certificates %zu and %zu both have a %s key for the default server name "
                    "(one certificate per key type and name)",
                    other + 1, i + 1, EVP_PKEY_get0_type_name(set.entries_[i].key.get()));
        default_members.push_back(i);
    }
    std::sort(default_members.begin(), default_members.end());
    set.groups_.push_back(CertificateGroup{default_members, {}});
    std::map<size_t, std::vector<std::string>> names_of_group;
    for (const auto& [name, members] : by_name) {
        size_t g = 0;
        if (members != primary) {
            g = set.groups_.size();
            for (size_t k = 1; k < set.groups_.size(); ++k)
                if (set.groups_[k].members == members) g = k;
            if (g == set.groups_.size()) set.groups_.push_back(CertificateGroup{members, {}});
        }
        names_of_group[g].push_back(name);
        if (name.rfind("*.", 0) == 0)
            set.wildcard_[name.substr(2)] = g;
        else
            set.exact_[name] = g;
    }
    for (auto& [g, names] : names_of_group) set.groups_[g].label = join(names);
    return set;
}

int CertificateSet::find(std::string_view server_name) const {
    if (auto it = exact_.find(server_name); it != exact_.end()) return static_cast<int>(it->second);
    size_t dot = server_name.find('.');
    if (dot == std::string_view::npos || dot == 0) return -1;
    if (auto it = wildcard_.find(server_name.substr(dot + 1)); it != wildcard_.end())
        return static_cast<int>(it->second);
    return -1;
}

Status CertificateSet::install_default(SSL_CTX* ctx) const {
    for (size_t i : groups_.at(0).members) {
        const CertificateEntry& e = entries_[i];
        if (SSL_CTX_use_cert_and_key(ctx, e.leaf.get(), e.key.get(), e.chain.get(), 1) != 1)
            return err(ErrorKind::config, "certificate %zu: SSL_CTX_use_cert_and_key: %s", i + 1,
                       openssl_errors().c_str());
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return err(ErrorKind::config, "the private key does not match the leaf certificate: %s",
                   openssl_errors().c_str());
    if (has_remote_keys()) SSL_CTX_set_mode(ctx, SSL_MODE_ASYNC);
    return {};
}

Status CertificateSet::select(SSL* ssl, size_t group) const {
    if (group >= groups_.size()) return err(ErrorKind::internal, "no certificate group %zu", group);
    SSL_certs_clear(ssl);
    for (size_t i : groups_[group].members) {
        const CertificateEntry& e = entries_[i];
        if (SSL_use_cert_and_key(ssl, e.leaf.get(), e.key.get(), e.chain.get(), 1) != 1)
            return err(ErrorKind::internal, "certificate %zu: SSL_use_cert_and_key: %s", i + 1,
                       openssl_errors().c_str());
    }
    return {};
}

const std::vector<uint8_t>* CertificateSet::staple_for(const X509* leaf) const {
    for (const CertificateEntry& e : entries_)
        if (e.leaf.get() == leaf) return e.ocsp_der.empty() ? nullptr : &e.ocsp_der;
    return nullptr;
}

bool CertificateSet::has_remote_keys() const {
    for (const CertificateEntry& e : entries_)
        if (is_remote_key(e.key.get())) return true;
    return false;
}

bool CertificateSet::has_staples() const {
    for (const CertificateEntry& e : entries_)
        if (!e.ocsp_der.empty()) return true;
    return false;
}

}  // namespace tlsward::cryptoproc
