#include "supervisor/prepared_config.hpp"

#include <unistd.h>

#include "supervisor/resolve.hpp"

namespace tlsward::supervisor {

Result<PreparedConfig> prepare_config(const Config& config,
                                      const std::function<void(const std::string&)>& note) {
    PreparedConfig p;
    p.config = config;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p.helpers = config.global.helpers != 0 ? config.global.helpers
                                           : static_cast<unsigned>(cpus > 0 ? cpus : 1);
    uint32_t id = 0;
    for (const ServiceConfig& s : config.services) {
        PreparedService ps;
        ps.id = ++id;
        ps.config = s;
        std::string where = strfmt("service \"%s\"", s.name.c_str());
        auto target = resolve_target(s.target);
        if (!target) return context(where + ": target", target.error());
        ps.target = target.value();
        for (const std::string& l : s.listen) {
            auto a = resolve_listen(l);
            if (!a) return context(where + ": listen", a.error());
            ps.listen.push_back(a.value());
        }
        for (const CertificateFiles& files : s.certificates) {
            auto c = load_certificate(files);
            if (!c) return context(where, c.error());
            if (note)
                for (const std::string& w : c->warnings) note(where + ": " + w);
            ps.certificates.push_back(std::move(c.value()));
        }
        p.services.push_back(std::move(ps));
    }
    return p;
}

}  // namespace tlsward::supervisor
