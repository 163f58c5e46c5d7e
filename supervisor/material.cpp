// Certificate chains and private keys, read from disk by the supervisor and
// checked here so that a bad file fails "tlsward check" and start-up with a
// message naming it, not a helper's handshake later. Key bytes go from the
// file into SecretBytes, through OpenSSL's secure-memory PEM decoder and back
// out through a secure-memory BIO: never a std::string.
#include "supervisor/material.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "common/openssl_error.hpp"

namespace tlsward::supervisor {
namespace {

constexpr size_t kMaxPemFile = 1 << 20;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct FileBytes {
    SecretBytes bytes;
    mode_t mode = 0;
};

// Reads a whole regular file into wiped memory. Both files go through here:
// a "certificate" file may hold the key too (one combined PEM).
Result<FileBytes> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return err("%s: cannot read: %s", path.c_str(), std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return err("%s: cannot read: %s", path.c_str(), std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return err("%s: cannot read: not a regular file", path.c_str());
    }
    if (static_cast<uint64_t>(st.st_size) > kMaxPemFile) {
        ::close(fd);
        return err("%s: cannot read: larger than 1 MiB", path.c_str());
    }
    SecretBytes buf(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return err("%s: cannot read: %s", path.c_str(), std::strerror(e));
        }
        if (n == 0) break;  // shrank while we read: keep what is there
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    FileBytes out;
    out.mode = st.st_mode;
    out.bytes = got == buf.size() ? std::move(buf) : SecretBytes(buf.data(), got);
    return out;
}

// Never prompt for a passphrase (the default callback would read the tty).
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
    *static_cast<bool*>(asked) = true;
    return -1;
}

std::string clean(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return s;
}

// "CN=www.example.com", else the first DNS name, else the whole subject.
std::string cert_name(X509* x) {
    X509_NAME* subject = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i >= 0) {
        unsigned char* utf8 = nullptr;
        int n =
            ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
        if (n >= 0) {
            std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
            OPENSSL_free(utf8);
            return "CN=" + clean(cn);
        }
    }
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    std::string dns;
    if (sans != nullptr) {
        for (int j = 0; j < sk_GENERAL_NAME_num(sans) && dns.empty(); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, j);
            if (gn->type == GEN_DNS) {
                const ASN1_STRING* s = gn->d.dNSName;
                dns = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<size_t>(ASN1_STRING_length(s)));
            }
        }
        GENERAL_NAMES_free(sans);
    }
    ERR_clear_error();
    if (!dns.empty()) return "DNS=" + clean(dns);
    char buf[256];
    X509_NAME_oneline(subject, buf, sizeof buf);
    return clean(buf);
}

std::string time_text(const ASN1_TIME* t) {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable time)";
    return strfmt("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string key_text(EVP_PKEY* key) {
    int bits = EVP_PKEY_get_bits(key);
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
            return strfmt("RSA-%d", bits);
        case EVP_PKEY_RSA_PSS:
            return strfmt("RSA-PSS-%d", bits);
        case EVP_PKEY_ED25519:
            return "Ed25519";
        case EVP_PKEY_ED448:
            return "Ed448";
        case EVP_PKEY_EC: {
            char group[80] = {};
            size_t len = 0;
            if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) {
                const char* nist = EC_curve_nid2nist(OBJ_sn2nid(group));
                return std::string("ECDSA ") + (nist != nullptr ? nist : group);
            }
            return strfmt("ECDSA-%d", bits);
        }
        default:
            break;
    }
    const char* type = EVP_PKEY_get0_type_name(key);
    return strfmt("%s-%d", type != nullptr ? type : "key", bits);
}

bool is_no_start_line(unsigned long e) {
    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

Result<std::vector<X509Ptr>> parse_chain(const std::string& path, const SecretBytes& pem) {
    std::vector<X509Ptr> chain;
    if (pem.empty()) return err("%s: not a PEM certificate (the file is empty)", path.c_str());
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return err("%s: %s", path.c_str(), openssl_errors().c_str());
    ERR_clear_error();
    for (;;) {
        bool asked = false;
        X509* x = PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, &asked);
        if (x != nullptr) {
            chain.emplace_back(x);
            continue;
        }
        unsigned long e = ERR_peek_last_error();
        if (is_no_start_line(e)) {
            ERR_clear_error();
            break;
        }
        return err("%s: certificate #%zu cannot be parsed: %s", path.c_str(), chain.size() + 1,
                   openssl_errors().c_str());
    }
    if (chain.empty()) {
        if (pem.data()[0] == 0x30)
            return err(
                "%s: not a PEM certificate (it looks like DER: convert it with "
                "\"openssl x509 -inform der\")",
                path.c_str());
        return err("%s: not a PEM certificate", path.c_str());
    }
    return chain;
}

Result<PkeyPtr> parse_key(const std::string& path, const SecretBytes& pem) {
    if (pem.empty()) return err("%s: not a PEM private key (the file is empty)", path.c_str());
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return err("%s: %s", path.c_str(), openssl_errors().c_str());
    ERR_clear_error();
    bool asked = false;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked);
    if (key == nullptr) {
        ERR_clear_error();
        if (asked)
            return err(
                "%s: the private key is encrypted; tlsward needs it unencrypted "
                "(\"openssl pkey -in KEY -out PLAIN\"), protected by file permissions",
                path.c_str());
        return err("%s: not a PEM private key", path.c_str());
    }
    ERR_clear_error();
    return PkeyPtr(key);
}

Result<SecretBytes> encode_key(const std::string& path, EVP_PKEY* key) {
    // A secure-memory BIO is wiped when freed, growth included.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return err("%s: cannot encode the private key: %s", path.c_str(), openssl_errors().c_str());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    if (len <= 0 || data == nullptr) return err("%s: cannot encode the private key", path.c_str());
    return SecretBytes(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len));
}

Result<std::string> encode_chain(const std::string& path, const std::vector<X509Ptr>& chain) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return err("%s: %s", path.c_str(), openssl_errors().c_str());
    for (const X509Ptr& x : chain)
        if (PEM_write_bio_X509(bio.get(), x.get()) != 1)
            return err("%s: cannot encode the certificate: %s", path.c_str(),
                       openssl_errors().c_str());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
}

}  // namespace

Result<LoadedCertificate> load_certificate(const CertificateFiles& files) {
    const std::string& cert_path = files.cert_path;
    const std::string& key_path = files.key_path.empty() ? files.cert_path : files.key_path;

    auto cert_file = read_file(cert_path);
    if (!cert_file) return cert_file.error();
    auto chain = parse_chain(cert_path, cert_file->bytes);
    if (!chain) return chain.error();

    Result<FileBytes> key_file = err("unused");
    const FileBytes* key_bytes = &cert_file.value();
    if (key_path != cert_path) {
        key_file = read_file(key_path);
        if (!key_file) return key_file.error();
        key_bytes = &key_file.value();
    }
    auto key = parse_key(key_path, key_bytes->bytes);
    if (!key) return key.error();

    X509* leaf = chain->front().get();
    if (X509_check_private_key(leaf, key->get()) != 1) {
        ERR_clear_error();
        if (key_path == cert_path)
            return err("%s: the key does not match the certificate in the same file",
                       key_path.c_str());
        return err("%s: key does not match certificate %s", key_path.c_str(), cert_path.c_str());
    }

    LoadedCertificate out;
    auto pem = encode_chain(cert_path, chain.value());
    if (!pem) return pem.error();
    out.chain_pem = std::move(pem.value());
    auto key_pem = encode_key(key_path, key->get());
    if (!key_pem) return key_pem.error();
    out.key_pem = std::move(key_pem.value());

    out.key_type = EVP_PKEY_get_base_id(key->get());
    out.key_text = key_text(key->get());
    const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
    out.expired = X509_cmp_current_time(not_after) < 0;
    out.summary = strfmt("%s, %s, not after %s, chain of %zu", cert_name(leaf).c_str(),
                         out.key_text.c_str(), time_text(not_after).c_str(), chain->size());
    if (out.expired) {
        out.summary += ", EXPIRED";
        out.warnings.push_back(strfmt("%s: certificate %s expired on %s", cert_path.c_str(),
                                      cert_name(leaf).c_str(), time_text(not_after).c_str()));
    }
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0)
        out.warnings.push_back(strfmt("%s: certificate %s is not valid before %s",
                                      cert_path.c_str(), cert_name(leaf).c_str(),
                                      time_text(X509_get0_notBefore(leaf)).c_str()));
    for (size_t i = 1; i < chain->size(); ++i) {
        X509* cur = (*chain)[i].get();
        X509* prev = (*chain)[i - 1].get();
        if (X509_check_issued(cur, prev) != X509_V_OK)
            out.warnings.push_back(strfmt(
                "%s: certificate #%zu (%s) did not issue certificate #%zu (%s); put the leaf "
                "first, then each issuer",
                cert_path.c_str(), i + 1, cert_name(cur).c_str(), i, cert_name(prev).c_str()));
        if (X509_cmp_current_time(X509_get0_notAfter(cur)) < 0)
            out.warnings.push_back(strfmt("%s: certificate #%zu (%s) expired on %s",
                                          cert_path.c_str(), i + 1, cert_name(cur).c_str(),
                                          time_text(X509_get0_notAfter(cur)).c_str()));
    }
    if ((key_bytes->mode & (S_IROTH | S_IWOTH)) != 0)
        out.warnings.push_back(
            strfmt("%s: the private key file is readable by everyone "
                   "(mode %04o); chmod o-rwx it",
                   key_path.c_str(), static_cast<unsigned>(key_bytes->mode & 07777)));
    ERR_clear_error();
    return out;
}

}  // namespace tlsward::supervisor
