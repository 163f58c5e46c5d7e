#include "supervisor/config_check.hpp"

#include <map>
#include <utility>
#include <vector>

#include "supervisor/material.hpp"
#include "supervisor/resolve.hpp"
#include "supervisor/ticket_keys.hpp"

namespace tlsward::supervisor {

namespace {

// The CA files, CRLs and client-mode names of one service.
template <class Fail, class Tell, class Where>
void check_tls_material(const ServiceConfig& s, Fail& fail, Tell& tell, const NoteFn& warn,
                        Where& where) {
    const TlsConfig& t = s.tls;
    auto loaded = [&](const char* what, const Result<LoadedTrust>& r) {
        if (!r) {
            fail(s, strfmt("%s: %s", what, r.message().c_str()));
            return;
        }
        tell(where(s) + what + ": " + r->summary);
        if (warn)
            for (const std::string& w : r->warnings) warn(where(s) + w);
    };
    if (s.mode == ipc::TlsRole::server) {
        if (!t.client_ca.empty()) {
            loaded("client_ca", load_ca_certificates(t.client_ca));
            tell(where(s) +
                 "client certificates: verify_client = " + ipc::verify_peer_name(t.verify_client));
        }
        if (!t.crl.empty()) loaded("crl", load_crls(t.crl));
        return;
    }
    loaded(t.ca.empty() ? "ca (system store)" : "ca",
           load_ca_certificates(t.ca.empty() ? std::string(kSystemCaFile) : t.ca));
    if (auto n = client_names(s); !n)
        fail(s, n.message());
    else
        tell(where(s) + "server_name \"" + n->server_name + "\", verify_name \"" + n->verify_name +
             "\"");
}

}  // namespace

Status check_config(const Config& config, const NoteFn& warn, const NoteFn& info) {
    std::string problems;
    auto where = [&](const ServiceConfig& s) {
        std::string prefix;
        if (config.source != kCommandLineSource && !config.source.empty())
            prefix = s.line > 0 ? strfmt("%s:%d: ", config.source.c_str(), s.line)
                                : config.source + ": ";
        return prefix + strfmt("service \"%s\": ", s.name.c_str());
    };
    auto fail = [&](const ServiceConfig& s, const std::string& what) {
        if (!problems.empty()) problems += '\n';
        problems += where(s) + what;
    };
    auto tell = [&](const std::string& line) {
        if (info) info(line);
    };

    if (config.services.empty()) {
        problems = (config.source.empty() ? std::string("configuration") : config.source) +
                   ": no service is defined";
    }
    for (const ServiceConfig& s : config.services) {
        for (const std::string& l : s.listen)
            if (auto a = resolve_listen(l); !a) fail(s, a.message());
        if (auto t = resolve_target(s.target); !t)
            fail(s, t.message());
        else
            tell(where(s) + "target " + s.target + " is " + t->to_string());
        if (s.mode == ipc::TlsRole::server && s.certificates.empty())
            fail(s, "a server needs a certificate");
        // A server name gets one certificate per key type (OpenSSL picks
        // ECDSA or RSA by what the client supports): two ECDSA certificates
        // for one name cannot both serve. A certificate without a name
        // serves the default name, that of the first certificate.
        std::map<std::string, std::vector<std::pair<int, size_t>>> by_name;  // -> (type, number)
        std::string default_name;
        for (size_t i = 0; i < s.certificates.size(); ++i) {
            const CertificateFiles& f = s.certificates[i];
            auto c = load_certificate(f);
            if (!c) {
                fail(s, c.message());
                continue;
            }
            if (i == 0) default_name = c->names.empty() ? std::string("(default)") : c->names[0];
            std::vector<std::string> names = c->names;
            if (names.empty()) names.push_back(default_name);
            for (const std::string& name : names) {
                for (const auto& [type, number] : by_name[name])
                    if (type == c->key_type)
                        fail(s, strfmt("%s: certificates %zu and %zu both serve \"%s\" with a "
                                       "%s key; give at most one certificate per key type and "
                                       "server name",
                                       f.cert_path.c_str(), number, i + 1, name.c_str(),
                                       c->key_text.c_str()));
                by_name[name].emplace_back(c->key_type, i + 1);
            }
            std::string served;
            for (const std::string& n : c->names) served += (served.empty() ? "" : ",") + n;
            tell(where(s) + f.cert_path + ": " + c->summary +
                 (s.mode == ipc::TlsRole::server
                      ? ", serves " + (served.empty() ? std::string("the default name") : served)
                      : std::string()) +
                 (c->ocsp_der.empty() ? "" : ", OCSP staple " + f.ocsp_path));
            if (warn)
                for (const std::string& w : c->warnings) warn(where(s) + w);
        }
        check_tls_material(s, fail, tell, warn, where);
    }
    if (const std::string& f = config.global.ticket_key_file; !f.empty()) {
        auto keys = read_ticket_key_file(f);
        if (!keys) {
            if (!problems.empty()) problems += '\n';
            problems += keys.message();
        } else {
            tell(strfmt("ticket_key_file %s: %zu keys, key %u seals", f.c_str(), keys->keys.size(),
                        keys->encrypt_index + 1u));
        }
    }
    if (!problems.empty()) return Error{ErrorKind::config, problems};
    return {};
}

}  // namespace tlsward::supervisor
