// Certificate chains and private keys, read from disk by the supervisor and
// checked here so that a bad file fails "tlsward check" and start-up with a
// message naming it, not a helper's handshake later. Key bytes go from the
// file into SecretBytes, through OpenSSL's secure-memory PEM decoder and back
// out through a secure-memory BIO: never a std::string.
#include "supervisor/material.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>

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
Result<FileBytes> read_file(const std::string& path, size_t max = kMaxPemFile) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return err(ErrorKind::config, "%s: cannot read: not a regular file", path.c_str());
    }
    if (static_cast<uint64_t>(st.st_size) > max) {
        ::close(fd);
        return err(ErrorKind::config, "%s: cannot read: larger than %zu KiB", path.c_str(),
                   max / 1024);
    }
    SecretBytes buf(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(e));
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
    if (pem.empty())
        return err(ErrorKind::config, "%s: not a PEM certificate (the file is empty)",
                   path.c_str());
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return err(ErrorKind::internal, "%s: %s", path.c_str(), openssl_errors().c_str());
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
        return err(ErrorKind::config, "%s: certificate #%zu cannot be parsed: %s", path.c_str(),
                   chain.size() + 1, openssl_errors().c_str());
    }
    if (chain.empty()) {
        if (pem.data()[0] == 0x30)
            return err(ErrorKind::config,
                       "%s: not a PEM certificate (it looks like DER: convert it with "
                       "\"openssl x509 -inform der\")",
                       path.c_str());
        return err(ErrorKind::config, "%s: not a PEM certificate", path.c_str());
    }
    return chain;
}

Result<PkeyPtr> parse_key(const std::string& path, const SecretBytes& pem) {
    if (pem.empty())
        return err(ErrorKind::config, "%s: not a PEM private key (the file is empty)",
                   path.c_str());
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return err(ErrorKind::internal, "%s: %s", path.c_str(), openssl_errors().c_str());
    ERR_clear_error();
    bool asked = false;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked);
    if (key == nullptr) {
        ERR_clear_error();
        if (asked)
            return err(ErrorKind::config,
                       "%s: the private key is encrypted; tlsward needs it unencrypted "
                       "(\"openssl pkey -in KEY -out PLAIN\"), protected by file permissions",
                       path.c_str());
        return err(ErrorKind::config, "%s: not a PEM private key", path.c_str());
    }
    ERR_clear_error();
    return PkeyPtr(key);
}

Result<SecretBytes> encode_key(const std::string& path, EVP_PKEY* key) {
    // A secure-memory BIO is wiped when freed, growth included.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return err(ErrorKind::internal, "%s: cannot encode the private key: %s", path.c_str(),
                   openssl_errors().c_str());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    if (len <= 0 || data == nullptr)
        return err(ErrorKind::internal, "%s: cannot encode the private key", path.c_str());
    return SecretBytes(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len));
}

Result<std::string> encode_chain(const std::string& path, const std::vector<X509Ptr>& chain) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return err(ErrorKind::internal, "%s: %s", path.c_str(), openssl_errors().c_str());
    for (const X509Ptr& x : chain)
        if (PEM_write_bio_X509(bio.get(), x.get()) != 1)
            return err(ErrorKind::internal, "%s: cannot encode the certificate: %s", path.c_str(),
                       openssl_errors().c_str());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
}

// The names a certificate serves when the configuration gives none: its
// DNS SANs, else a CN that is a host name.
std::vector<std::string> certificate_names(X509* x) {
    std::vector<std::string> names;
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    if (sans != nullptr) {
        for (int j = 0; j < sk_GENERAL_NAME_num(sans); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, j);
            if (gn->type != GEN_DNS) continue;
            const ASN1_STRING* str = gn->d.dNSName;
            auto n = parse_dns_pattern(
                std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(str)),
                                 static_cast<size_t>(ASN1_STRING_length(str))));
            if (n && std::find(names.begin(), names.end(), n.value()) == names.end())
                names.push_back(n.value());
        }
        GENERAL_NAMES_free(sans);
    }
    if (names.empty()) {
        std::string cn = cert_name(x);
        if (cn.rfind("CN=", 0) == 0)
            if (auto n = parse_dns_pattern(cn.substr(3)); n && n->find('.') != std::string::npos)
                names.push_back(n.value());
    }
    ERR_clear_error();
    return names;
}

struct CrlFree {
    void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

void append_der(std::vector<uint8_t>& out, const unsigned char* p, int n) {
    if (n > 0) out.insert(out.end(), p, p + n);
}

// Every certificate of a PEM file (other PEM blocks are skipped).
Result<std::vector<X509Ptr>> pem_certificates(const std::string& path, const SecretBytes& bytes) {
    if (bytes.empty()) return std::vector<X509Ptr>();
    BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) return err(ErrorKind::internal, "%s: %s", path.c_str(), openssl_errors().c_str());
    ERR_clear_error();
    STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
    if (infos == nullptr) {
        std::string why = openssl_errors();
        return err(ErrorKind::config, "%s: not a PEM file of certificates: %s", path.c_str(),
                   why.c_str());
    }
    std::vector<X509Ptr> out;
    for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
        X509_INFO* info = sk_X509_INFO_value(infos, i);
        if (info->x509 != nullptr) {
            out.emplace_back(info->x509);
            info->x509 = nullptr;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    ERR_clear_error();
    return out;
}

}  // namespace

Result<LoadedTrust> load_ca_certificates(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(errno));
    std::vector<std::string> files;
    bool directory = S_ISDIR(st.st_mode);
    if (directory) {
        DIR* d = ::opendir(path.c_str());
        if (d == nullptr)
            return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(),
                       std::strerror(errno));
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::string f = path + (path.back() == '/' ? "" : "/") + e->d_name;
            struct stat fst {};
            if (::stat(f.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) files.push_back(f);
        }
        ::closedir(d);
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);
    }
    LoadedTrust out;
    std::set<std::vector<uint8_t>> seen;
    size_t skipped = 0;
    for (const std::string& f : files) {
        auto bytes = read_file(f, kMaxTrustBytes);
        if (!bytes) return bytes.error();
        auto certs = pem_certificates(f, bytes->bytes);
        if (!certs || certs->empty()) {
            if (!directory)
                return certs
                           ? err(ErrorKind::config, "%s: no PEM certificate in the file", f.c_str())
                           : certs.error();
            ++skipped;
            continue;
        }
        for (const X509Ptr& x : *certs) {
            unsigned char* der = nullptr;
            int n = i2d_X509(x.get(), &der);
            std::vector<uint8_t> one(der, der + (n > 0 ? n : 0));
            OPENSSL_free(der);
            if (!seen.insert(one).second) continue;
            out.der.insert(out.der.end(), one.begin(), one.end());
            ++out.count;
            if (out.der.size() > kMaxTrustBytes)
                return err(ErrorKind::config, "%s: more than %zu MiB of CA certificates",
                           path.c_str(), kMaxTrustBytes >> 20);
        }
    }
    if (out.count == 0) return err(ErrorKind::config, "%s: no CA certificate found", path.c_str());
    out.summary =
        strfmt("%zu CA certificate%s from %s", out.count, out.count == 1 ? "" : "s", path.c_str());
    if (skipped > 0) out.summary += strfmt(" (%zu files without certificates skipped)", skipped);
    return out;
}

Result<LoadedTrust> load_crls(const std::vector<std::string>& paths) {
    LoadedTrust out;
    for (const std::string& path : paths) {
        auto bytes = read_file(path, kMaxTrustBytes);
        if (!bytes) return bytes.error();
        std::vector<CrlPtr> crls;
        const SecretBytes& b = bytes->bytes;
        if (!b.empty() && b.data()[0] == 0x30) {
            const unsigned char* p = b.data();
            CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(b.size())));
            if (!crl)
                return err(ErrorKind::config, "%s: not a CRL (DER): %s", path.c_str(),
                           openssl_errors().c_str());
            crls.push_back(std::move(crl));
        } else {
            BioPtr bio(BIO_new_mem_buf(b.data(), static_cast<int>(b.size())));
            ERR_clear_error();
            for (;;) {
                CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
                if (crl) {
                    crls.push_back(std::move(crl));
                    continue;
                }
                unsigned long e = ERR_peek_last_error();
                if (is_no_start_line(e) && !crls.empty()) {
                    ERR_clear_error();
                    break;
                }
                return err(ErrorKind::config, "%s: not a PEM or DER CRL: %s", path.c_str(),
                           openssl_errors().c_str());
            }
        }
        for (const CrlPtr& crl : crls) {
            unsigned char* der = nullptr;
            int n = i2d_X509_CRL(crl.get(), &der);
            append_der(out.der, der, n);
            OPENSSL_free(der);
            ++out.count;
            const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
            char issuer[256];
            X509_NAME_oneline(X509_CRL_get_issuer(crl.get()), issuer, sizeof issuer);
            if (next != nullptr && X509_cmp_current_time(next) < 0)
                out.warnings.push_back(strfmt(
                    "%s: the CRL of %s expired on %s; every client certificate from that CA is "
                    "refused until a fresh CRL is installed (then reload)",
                    path.c_str(), clean(issuer).c_str(), time_text(next).c_str()));
        }
        if (out.der.size() > kMaxTrustBytes)
            return err(ErrorKind::config, "%s: more than %zu MiB of CRLs", path.c_str(),
                       kMaxTrustBytes >> 20);
    }
    out.summary = strfmt("%zu CRL%s", out.count, out.count == 1 ? "" : "s");
    ERR_clear_error();
    return out;
}

Result<std::vector<uint8_t>> load_ocsp_response(const std::string& path,
                                                const std::string& chain_pem,
                                                std::vector<std::string>& warnings) {
    auto bytes = read_file(path, kMaxOcspBytes);
    if (!bytes) return bytes.error();
    const SecretBytes& b = bytes->bytes;
    const unsigned char* p = b.data();
    OCSP_RESPONSE* resp = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(b.size()));
    if (resp == nullptr || p != b.data() + b.size()) {
        OCSP_RESPONSE_free(resp);
        ERR_clear_error();
        return err(ErrorKind::config, "%s: not a DER OCSP response", path.c_str());
    }
    std::unique_ptr<OCSP_RESPONSE, void (*)(OCSP_RESPONSE*)> owner(resp, OCSP_RESPONSE_free);
    int status = OCSP_response_status(resp);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        return err(ErrorKind::config, "%s: the OCSP response is not successful (%s)", path.c_str(),
                   OCSP_response_status_str(status));
    OCSP_BASICRESP* basic = OCSP_response_get1_basic(resp);
    if (basic == nullptr)
        return err(ErrorKind::config, "%s: the OCSP response has no basic response", path.c_str());
    std::unique_ptr<OCSP_BASICRESP, void (*)(OCSP_BASICRESP*)> basic_owner(basic,
                                                                           OCSP_BASICRESP_free);
    // Which single response is about our leaf: by issuer and serial when
    // the chain has the issuer, else by serial alone.
    SecretBytes chain_bytes(as_bytes(chain_pem));
    auto chain = parse_chain(path, chain_bytes);
    if (!chain) return chain.error();
    X509* leaf = chain->front().get();
    const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf);
    OCSP_SINGLERESP* single = nullptr;
    for (int i = 0; i < OCSP_resp_count(basic); ++i) {
        OCSP_SINGLERESP* s = OCSP_resp_get0(basic, i);
        ASN1_INTEGER* sn = nullptr;
        OCSP_id_get0_info(nullptr, nullptr, nullptr, &sn,
                          const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(s)));
        if (sn != nullptr && ASN1_INTEGER_cmp(sn, serial) == 0) single = s;
    }
    if (chain->size() >= 2) {
        OCSP_CERTID* id = OCSP_cert_to_id(nullptr, leaf, (*chain)[1].get());
        int idx = id != nullptr ? OCSP_resp_find(basic, id, -1) : -1;
        OCSP_CERTID_free(id);
        single = idx >= 0 ? OCSP_resp_get0(basic, idx) : nullptr;
    }
    if (single == nullptr) {
        ERR_clear_error();
        return err(ErrorKind::config, "%s: the OCSP response is not about certificate %s",
                   path.c_str(), cert_name(leaf).c_str());
    }
    int reason = 0;
    ASN1_GENERALIZEDTIME* revoked_at = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    int cert_status =
        OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
    if (cert_status != V_OCSP_CERTSTATUS_GOOD)
        warnings.push_back(strfmt("%s: the OCSP response says certificate %s is %s", path.c_str(),
                                  cert_name(leaf).c_str(), OCSP_cert_status_str(cert_status)));
    if (next_update != nullptr && X509_cmp_current_time(next_update) < 0)
        warnings.push_back(strfmt(
            "%s: the OCSP response expired on %s; clients may refuse it (fetch a fresh one and "
            "reload)",
            path.c_str(), time_text(next_update).c_str()));
    ERR_clear_error();
    return std::vector<uint8_t>(b.data(), b.data() + b.size());
}

Result<LoadedCertificate> load_certificate(const CertificateFiles& files, CertificatePart* failed) {
    CertificatePart unused{};
    CertificatePart& part = failed != nullptr ? *failed : unused;
    part = CertificatePart::cert;
    const std::string& cert_path = files.cert_path;
    const std::string& key_path = files.key_path.empty() ? files.cert_path : files.key_path;

    auto cert_file = read_file(cert_path);
    if (!cert_file) return cert_file.error();
    auto chain = parse_chain(cert_path, cert_file->bytes);
    if (!chain) return chain.error();

    part = CertificatePart::key;
    Result<FileBytes> key_file = err(ErrorKind::internal, "unused");
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
            return err(ErrorKind::config,
                       "%s: the key does not match the certificate in the same file",
                       key_path.c_str());
        return err(ErrorKind::config, "%s: key does not match certificate %s", key_path.c_str(),
                   cert_path.c_str());
    }

    LoadedCertificate out;
    auto pem = encode_chain(cert_path, chain.value());
    if (!pem) return pem.error();
    out.chain_pem = std::move(pem.value());
    auto key_pem = encode_key(key_path, key->get());
    if (!key_pem) return key_pem.error();
    out.key_pem = std::move(key_pem.value());

    out.names = files.names.empty() ? certificate_names(leaf) : files.names;
    if (!files.ocsp_path.empty()) {
        part = CertificatePart::ocsp;
        auto ocsp = load_ocsp_response(files.ocsp_path, out.chain_pem, out.warnings);
        if (!ocsp) return ocsp.error();
        out.ocsp_der = std::move(ocsp.value());
    }
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
