#include "supervisor/config_check.hpp"

#include <map>
#include <utility>
#include <vector>

#include "supervisor/material.hpp"
#include "supervisor/resolve.hpp"
#include "supervisor/ticket_keys.hpp"

namespace tlsward::supervisor {

namespace {

// Problems and notes of one check, each prefixed with where it is about:
// "FILE:LINE: service "web": ", a problem with the line of the value it is
// about (a file that cannot be read at its key's line), notes with the
// service's.
class CheckReport {
public:
    CheckReport(const Config& config, const NoteFn& warn, const NoteFn& info)
        : config_(config), warn_(warn), info_(info) {}

    std::string where(const ServiceConfig& s, SourcePosition at = {}) const {
        return location(at.line > 0 ? at.line : s.line) +
               strfmt("service \"%s\": ", s.name.c_str());
    }
    std::string location(int line) const {
        if (config_.source == kCommandLineSource || config_.source.empty()) return "";
        return line > 0 ? strfmt("%s:%d: ", config_.source.c_str(), line) : config_.source + ": ";
    }
    void fail(const std::string& text) {
        if (!problems_.empty()) problems_ += '\n';
        problems_ += text;
    }
    void fail(const ServiceConfig& s, SourcePosition at, const std::string& what) {
        fail(where(s, at) + what);
    }
    void tell(const std::string& line) const {
        if (info_) info_(line);
    }
    void warn(const std::string& line) const {
        if (warn_) warn_(line);
    }
    const std::string& problems() const { return problems_; }

private:
    const Config& config_;
    const NoteFn& warn_;
    const NoteFn& info_;
    std::string problems_;
};

// The CA files, CRLs and client-mode names of one service.
void check_tls_material(const ServiceConfig& s, CheckReport& report) {
    const TlsConfig& t = s.tls;
    auto loaded = [&](const char* what, SourcePosition at, const Result<LoadedTrust>& r) {
        if (!r) {
            report.fail(s, at, strfmt("%s: %s", what, r.message().c_str()));
            return false;
        }
        report.tell(report.where(s) + what + ": " + r->summary);
        for (const std::string& w : r->warnings) report.warn(report.where(s) + w);
        return true;
    };
    if (s.mode == ipc::TlsRole::server) {
        if (!t.client_ca.empty()) {
            loaded("client_ca", s.where.of("client_ca"), load_ca_certificates(t.client_ca));
            report.tell(report.where(s) + "client certificates: verify_client = " +
                        ipc::verify_peer_name(t.verify_client));
        }
        if (!t.crl.empty()) {
            // Each file at its own line, then all of them together (their
            // size together is limited too).
            bool each = true;
            for (size_t i = 0; i < t.crl.size(); ++i) {
                auto one = load_crls({t.crl[i]});
                if (!one) {
                    report.fail(s, s.where.of("crl", i), "crl: " + one.message());
                    each = false;
                }
            }
            if (each) loaded("crl", s.where.of("crl"), load_crls(t.crl));
        }
        return;
    }
    loaded(t.ca.empty() ? "ca (system store)" : "ca", s.where.of("ca"),
           load_ca_certificates(t.ca.empty() ? std::string(kSystemCaFile) : t.ca));
    if (auto n = client_names(s); !n)
        report.fail(s, s.where.of("target"), n.message());
    else
        report.tell(report.where(s) + "server_name \"" + n->server_name + "\", verify_name \"" +
                    n->verify_name + "\"");
}

// Where a certificate's problem is: the line of the file's key (a combined
// PEM has no key line: its cert's).
SourcePosition part_position(const CertificateFiles& f, CertificatePart part) {
    SourcePosition cert = f.where.of("cert");
    SourcePosition at = part == CertificatePart::key    ? f.where.of("key")
                        : part == CertificatePart::ocsp ? f.where.of("ocsp")
                                                        : cert;
    return at.line > 0 ? at : cert;
}

void check_certificates(const ServiceConfig& s, CheckReport& report) {
    if (s.mode == ipc::TlsRole::server && s.certificates.empty())
        report.fail(s, {}, "a server needs a certificate");
    // A server name gets one certificate per key type (OpenSSL picks ECDSA
    // or RSA by what the client supports): two ECDSA certificates for one
    // name cannot both serve. A certificate without a name serves the
    // default name, that of the first certificate.
    std::map<std::string, std::vector<std::pair<int, size_t>>> by_name;  // -> (type, number)
    std::string default_name;
    for (size_t i = 0; i < s.certificates.size(); ++i) {
        const CertificateFiles& f = s.certificates[i];
        SourcePosition at = f.where.of("cert");
        CertificatePart failed = CertificatePart::cert;
        auto c = load_certificate(f, &failed);
        if (!c) {
            report.fail(s, part_position(f, failed), c.message());
            continue;
        }
        if (i == 0) default_name = c->names.empty() ? std::string("(default)") : c->names[0];
        std::vector<std::string> names = c->names;
        if (names.empty()) names.push_back(default_name);
        for (const std::string& name : names) {
            for (const auto& [type, number] : by_name[name])
                if (type == c->key_type)
                    report.fail(s, at,
                                strfmt("%s: certificates %zu and %zu both serve \"%s\" with a "
                                       "%s key; give at most one certificate per key type and "
                                       "server name",
                                       f.cert_path.c_str(), number, i + 1, name.c_str(),
                                       c->key_text.c_str()));
            by_name[name].emplace_back(c->key_type, i + 1);
        }
        std::string served;
        for (const std::string& n : c->names) served += (served.empty() ? "" : ",") + n;
        report.tell(report.where(s) + f.cert_path + ": " + c->summary +
                    (s.mode == ipc::TlsRole::server
                         ? ", serves " + (served.empty() ? std::string("the default name") : served)
                         : std::string()) +
                    (c->ocsp_der.empty() ? "" : ", OCSP staple " + f.ocsp_path));
        for (const std::string& w : c->warnings) report.warn(report.where(s) + w);
    }
}

}  // namespace

Status check_config(const Config& config, const NoteFn& warn, const NoteFn& info) {
    CheckReport report(config, warn, info);
    if (config.services.empty())
        report.fail((config.source.empty() ? std::string("configuration") : config.source) +
                    ": no service is defined");
    for (const ServiceConfig& s : config.services) {
        for (size_t i = 0; i < s.listen.size(); ++i)
            if (auto a = resolve_listen(s.listen[i]); !a)
                report.fail(s, s.where.of("listen", i), a.message());
        if (auto t = resolve_target(s.target); !t)
            report.fail(s, s.where.of("target"), t.message());
        else
            report.tell(report.where(s) + "target " + s.target + " is " + t->to_string());
        check_certificates(s, report);
        check_tls_material(s, report);
    }
    if (const std::string& f = config.global.ticket_key_file; !f.empty()) {
        auto keys = read_ticket_key_file(f);
        if (!keys)
            report.fail(report.location(config.global.where.of("ticket_key_file").line) +
                        keys.message());
        else
            report.tell(strfmt("ticket_key_file %s: %zu keys, key %u seals", f.c_str(),
                               keys->keys.size(), keys->encrypt_index + 1u));
    }
    if (!report.problems().empty()) return Error{ErrorKind::config, report.problems()};
    return {};
}

}  // namespace tlsward::supervisor
