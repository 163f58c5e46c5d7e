// Reads tlsward.toml into a Config: walks the document (config_toml.cpp
// parses it) table by table with the key table (config_keys.hpp), which
// reads each value; here are only the rules between keys (a key without a
// cert, a server without a certificate, options of the other mode). Every
// problem is collected with the position of the value it is about and
// reported as "FILE:LINE: what is wrong"; unknown keys are problems too,
// because a typo silently ignored is a setting silently lost.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/config.hpp"
#include "supervisor/config_keys.hpp"

namespace tlsward::supervisor {
namespace {

std::string dirname_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// A rate's burst when none was given: 100 ms of traffic (rate_burst sets
// both directions' burst; 0 there means "the default").
void finish_rates(ipc::RateLimit& read, ipc::RateLimit& write) {
    for (ipc::RateLimit* l : {&read, &write})
        l->burst = l->rate == 0 ? 0 : l->burst != 0 ? l->burst : default_burst(l->rate);
}

// What one table held: the keys present, those whose value was refused,
// and the known keys unknown ones were taken for ("listne" -> "listen"), so
// that "listen is missing" is not reported on top of the typo.
struct TableRead {
    std::set<std::string> present;
    std::set<std::string> failed;
    std::set<std::string> guessed;

    bool has(const char* key) const { return present.count(key) != 0; }
};

class Loader {
public:
    Loader(const std::string& source, std::string base_dir)
        : source_(source), problems_(source), reader_(problems_, std::move(base_dir), taken_) {}

    Result<Config> run(std::string_view text) {
        auto doc = parse_toml_document(text, source_);
        if (!doc) return doc.error();
        const ConfigNode& root = doc.value();
        config_.source = source_;
        check_keys(root, Section::top);
        if (const ConfigNode* g = root.get("global")) {
            if (g->is_table()) {
                reader_.target = KeyTarget{&config_.global, nullptr, nullptr, nullptr};
                reader_.prefix = "global: ";
                read_table(*g, Section::global, config_.global.where);
                finish_rates(config_.global.read_rate, config_.global.write_rate);
            } else {
                fail(g->at, "global must be a table ([global]), got " + describe(*g));
            }
        }
        if (const ConfigNode* m = root.get("metrics")) {
            if (m->is_table()) {
                reader_.target = KeyTarget{nullptr, &config_.metrics, nullptr, nullptr};
                reader_.prefix = "metrics: ";
                read_table(*m, Section::metrics, config_.metrics.where);
            } else {
                fail(m->at, "metrics must be a table ([metrics]), got " + describe(*m));
            }
        }
        read_services(root);
        if (!problems_.empty()) return problems_.error();
        return std::move(config_);
    }

private:
    void fail(SourcePosition at, std::string text) { problems_.add(at, std::move(text)); }

    // Reports the keys `s` does not have, with a suggestion.
    std::set<std::string> check_keys(const ConfigNode& t, Section s) {
        std::set<std::string> guessed;
        const char* heading = section_heading(s);
        for (const ConfigEntry& e : t.entries) {
            if (find_key(s, e.key) != nullptr) continue;
            std::string guess;
            std::string hint = unknown_key_hint(s, e.key, &guess);
            if (!guess.empty()) guessed.insert(guess);
            fail(e.key_at, strfmt("unknown key %s %s %s", quoted(e.key).c_str(),
                                  heading[0] == '[' ? "in" : "at", heading) +
                               hint);
        }
        return guessed;
    }

    // Every known key of section `s` through its entry of the key table (in
    // the table's order: name before the keys whose messages name the
    // service), then the required ones that are missing.
    TableRead read_table(const ConfigNode& t, Section s, ValuePositions& where) {
        TableRead out;
        out.guessed = check_keys(t, s);
        for (const KeySpec& k : config_keys()) {
            if (!k.in(s)) continue;
            const ConfigNode* n = t.get(k.name);
            if (n == nullptr) continue;
            out.present.insert(k.name);
            std::vector<SourcePosition> elements;
            for (const ConfigNode& el : n->items) elements.push_back(el.at);
            where.set(k.name, n->at, std::move(elements));
            if (k.read && !k.read(reader_, *n)) out.failed.insert(k.name);
        }
        for (const KeySpec& k : config_keys())
            if (k.in(s) && k.required && out.present.count(k.name) == 0 &&
                out.guessed.count(k.name) == 0)
                fail(t.at, reader_.prefix + k.name + " is missing");
        return out;
    }

    void read_services(const ConfigNode& root) {
        const ConfigNode* node = root.get("service");
        if (node == nullptr) {
            fail({1, 0}, "no [[service]] is defined: there is nothing to do");
            return;
        }
        if (!node->is_array()) {
            fail(node->at,
                 "service must be an array of tables: write [[service]], not [service] or "
                 "service = ...");
            return;
        }
        if (node->items.empty())
            fail(node->at, "no [[service]] is defined: there is nothing to do");
        int index = 0;
        for (const ConfigNode& el : node->items) {
            ++index;
            if (el.is_table())
                read_service(el, index);
            else
                fail(el.at,
                     "service must be an array of tables ([[service]]), got " + describe(el));
        }
    }

    void read_service(const ConfigNode& t, int index) {
        ServiceConfig s;
        s.line = t.at.line;
        CertificateFiles shorthand;  // cert/key/ocsp in [[service]] itself
        reader_.target = KeyTarget{nullptr, nullptr, &s, &shorthand};
        reader_.prefix = strfmt("service #%d: ", index);
        TableRead read = read_table(t, Section::service, s.where);
        const std::string pre = reader_.prefix;  // names the service once its name is read
        read_certificates(t, s, shorthand, read);
        finish_rates(s.link.service_read, s.link.service_write);
        finish_rates(s.link.connection_read, s.link.connection_write);
        if (!s.tls.client_ca.empty() && !s.tls.verify_client_set)
            s.tls.verify_client = ipc::VerifyPeer::require;
        if (!s.target.empty() || s.mode == ipc::TlsRole::server) {
            for (const OptionProblem& p : tls_option_problems(s, false)) {
                SourcePosition at = s.where.of(p.key);
                fail(at.line > 0 ? at : t.at, pre + p.text);
            }
        }
        config_.services.push_back(std::move(s));
    }

    // A certificate's cert, key and ocsp once read: a key or an OCSP
    // response needs a cert; without a key, the cert file holds it.
    bool pair_certificate(CertificateFiles& f, const TableRead& read, SourcePosition table,
                          const std::string& pre) {
        if (!read.has("cert")) {
            if (read.has("key"))
                fail(f.where.of("key"), pre + "key is set but cert is missing");
            else if (read.has("ocsp"))
                fail(f.where.of("ocsp"), pre + "ocsp is set but cert is missing");
            else if (read.guessed.count("cert") == 0)
                fail(table, pre + "cert is missing");
            return false;
        }
        for (const char* k : {"cert", "key", "ocsp", "names"})
            if (read.failed.count(k) != 0) return false;
        if (!read.has("key")) f.key_path = f.cert_path;  // one PEM file (hitch's pem-file)
        return true;
    }

    // cert = "...", key = "..." in [[service]] (key omitted: the key is in
    // the cert file), or [[service.certificate]] tables with the same keys.
    void read_certificates(const ConfigNode& t, ServiceConfig& s, CertificateFiles& shorthand,
                           const TableRead& read) {
        const std::string pre = reader_.prefix;
        const ConfigNode* list = t.get("certificate");
        bool has_pair = read.has("cert") || read.has("key") || read.has("ocsp");
        if (list != nullptr && has_pair) {
            fail(list->at, pre + "use either cert/key or [[service.certificate]], not both");
            return;
        }
        bool ok = true;
        if (has_pair) {
            for (const char* k : {"cert", "key", "ocsp"}) shorthand.where.set(k, s.where.of(k), {});
            if (pair_certificate(shorthand, read, t.at, pre))
                s.certificates.push_back(shorthand);
            else
                ok = false;
        } else if (list != nullptr) {
            auto add = [&](const ConfigNode& el) {
                if (!el.is_table()) {
                    fail(el.at, pre +
                                    "certificate must be a table with cert and key "
                                    "([[service.certificate]]), got " +
                                    describe(el));
                    ok = false;
                    return;
                }
                CertificateFiles f;
                reader_.target.certificate = &f;
                reader_.prefix = pre + "certificate: ";
                TableRead cert_read = read_table(el, Section::certificate, f.where);
                if (pair_certificate(f, cert_read, el.at, reader_.prefix))
                    s.certificates.push_back(std::move(f));
                else
                    ok = false;
                reader_.target.certificate = nullptr;
                reader_.prefix = pre;
            };
            if (list->is_array())
                for (const ConfigNode& el : list->items) add(el);
            else
                add(*list);
        }
        if (!ok) return;
        bool guessed_cert = read.guessed.count("cert") + read.guessed.count("key") +
                                read.guessed.count("certificate") >
                            0;
        if (s.mode == ipc::TlsRole::server && s.certificates.empty() && !guessed_cert)
            fail(t.at, pre +
                           "a server needs a certificate: set cert and key, or add "
                           "[[service.certificate]]");
        if (s.mode == ipc::TlsRole::client && s.certificates.size() > 1)
            fail(list ? list->at : t.at, pre + "a client presents at most one certificate");
    }

    std::string source_;
    ConfigProblems problems_;
    TakenByServices taken_;
    ValueReader reader_;
    Config config_;
};

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& source_name,
                            const std::string& base_dir) {
    try {
        Loader loader(source_name, base_dir);
        return loader.run(text);
    } catch (const std::exception& e) {
        return err(ErrorKind::internal, "%s: %s", source_name.c_str(), e.what());
    } catch (...) {
        return err(ErrorKind::internal, "%s: unexpected error while reading the configuration",
                   source_name.c_str());
    }
}

Result<Config> parse_config(std::string_view text, const std::string& source_name) {
    return parse_config(text, source_name, dirname_of(source_name));
}

Result<Config> load_config_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(errno));
    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(e));
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (16u << 20)) {
            ::close(fd);
            return err(ErrorKind::config, "%s: cannot read: larger than 16 MiB", path.c_str());
        }
    }
    ::close(fd);

    // Relative cert/key paths are relative to the file's directory, made
    // absolute now so that a later chdir (or a reload) cannot change them.
    std::string dir = dirname_of(path);
    if (dir.empty() || dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd) == nullptr)
            return err(ErrorKind::config, "%s: cannot find the current directory: %s", path.c_str(),
                       std::strerror(errno));
        std::string base = cwd;
        if (base != "/") base += '/';
        dir = dir.empty() ? std::string(cwd) : base + dir;
    }
    return parse_config(text, path, dir);
}

}  // namespace tlsward::supervisor
