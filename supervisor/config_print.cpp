// `tlsward check --print`: the configuration in effect as a TOML file, one
// line per key of the key table (config_keys.hpp) with its value, defaults
// filled in, so that what the daemon will do can be read (and diffed)
// without knowing the defaults. It loads back to the same configuration.
// Keys without a value are comments that say what their absence means;
// secret values are never printed (file names are not secrets, their
// contents are never read here).
#include <string>

#include "supervisor/config.hpp"
#include "supervisor/config_keys.hpp"

namespace tlsward::supervisor {
namespace {

bool applies(const KeySpec& k, const ServiceConfig* s) {
    if (s == nullptr || k.mode == KeyMode::both) return true;
    return (k.mode == KeyMode::server) == (s->mode == ipc::TlsRole::server);
}

void print_section(std::string& out, Section section, const KeyTarget& target,
                   const ServiceConfig* service) {
    for (const KeySpec& k : config_keys()) {
        if (!k.in(section) || !k.show || !applies(k, service)) continue;
        // cert, key and ocsp are printed in their [[service.certificate]].
        if (section == Section::service && k.in(Section::certificate)) continue;
        std::optional<std::string> v = k.show(target);
        if (!v)
            out += "# " + k.name + ": " + k.unset + "\n";
        else if (k.secret)
            out += "# " + k.name + ": set, not shown\n";
        else
            out += k.name + " = " + *v + "\n";
    }
}

}  // namespace

std::string format_config(const Config& config) {
    Config c = config;  // the key table's accessors reach the fields through pointers
    std::string out = "# The configuration in effect";
    if (!c.source.empty() && c.source != kCommandLineSource)
        out += " of " + c.source;
    else if (c.source == kCommandLineSource)
        out += " of the command line";
    out += ", defaults filled in.\n";

    out += "\n[global]\n";
    print_section(out, Section::global, KeyTarget{&c.global, nullptr, nullptr, nullptr}, nullptr);
    out += "\n[metrics]\n";
    print_section(out, Section::metrics, KeyTarget{nullptr, &c.metrics, nullptr, nullptr}, nullptr);
    for (ServiceConfig& s : c.services) {
        out += "\n[[service]]\n";
        print_section(out, Section::service, KeyTarget{nullptr, nullptr, &s, nullptr}, &s);
        for (CertificateFiles& f : s.certificates) {
            out += "\n[[service.certificate]]\n";
            print_section(out, Section::certificate, KeyTarget{nullptr, nullptr, &s, &f}, &s);
        }
    }
    return out;
}

}  // namespace tlsward::supervisor
