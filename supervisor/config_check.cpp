#include "supervisor/config_check.hpp"

#include <utility>
#include <vector>

#include "supervisor/material.hpp"
#include "supervisor/resolve.hpp"

namespace tlsward::supervisor {

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
        // The helper takes one certificate per key type (OpenSSL picks by
        // what the client supports): two ECDSA certificates cannot both serve.
        std::vector<std::pair<int, size_t>> key_types;  // type -> certificate number
        for (size_t i = 0; i < s.certificates.size(); ++i) {
            const CertificateFiles& f = s.certificates[i];
            auto c = load_certificate(f);
            if (!c) {
                fail(s, c.message());
                continue;
            }
            for (const auto& [type, number] : key_types)
                if (type == c->key_type)
                    fail(s, strfmt("%s: certificates %zu and %zu have keys of the same type "
                                   "(%s); give at most one certificate per key type",
                                   f.cert_path.c_str(), number, i + 1, c->key_text.c_str()));
            key_types.emplace_back(c->key_type, i + 1);
            tell(where(s) + f.cert_path + ": " + c->summary);
            if (warn)
                for (const std::string& w : c->warnings) warn(where(s) + w);
        }
    }
    if (!problems.empty()) return Error{problems};
    return {};
}

}  // namespace tlsward::supervisor
