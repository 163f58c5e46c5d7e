// The [[service]] and [[service.certificate]] entries of the key table
// (config_keys.hpp), in the order they are read: name first, so that every
// later message names the service.
#include <vector>

#include "supervisor/config_key_kinds.hpp"
#include "supervisor/resolve.hpp"

namespace tlsward::supervisor::key_kinds {
namespace {

KeySpec name_key() {
    KeySpec k = spec("name", kService);
    k.required = true;
    k.read = [](ValueReader& r, const ConfigNode& n) {
        std::string name;
        if (!r.string(n, r.prefix + "name", name)) return false;
        if (!valid_service_name(name)) {
            r.fail(n.at, r.prefix + "name " + quoted(name) +
                             " must be 1 to 64 characters from a-z, A-Z, 0-9, '_', '.' and '-'");
            return false;
        }
        r.target.service->name = name;
        r.prefix = "service " + quoted(name) + ": ";
        auto [it, fresh] = r.taken().names.emplace(name, n.at.line);
        if (!fresh) {
            r.fail(n.at, strfmt("service name %s is already used at line %d", quoted(name).c_str(),
                                it->second));
            return false;
        }
        return true;
    };
    k.show = [](const KeyTarget& t) -> Shown { return toml_string(t.service->name); };
    return k;
}

// One listen address: numeric, and not taken by this or another service
// (port 0 asks the kernel for a free port: never the same twice).
bool add_listen(ValueReader& r, const ConfigNode& n) {
    ServiceConfig& s = *r.target.service;
    std::string text;
    if (!r.string(n, r.prefix + "listen", text)) return false;
    auto a = resolve_listen(text);
    if (!a) {
        r.fail(n.at, r.prefix + a.message());
        return false;
    }
    std::string key = a->to_string();
    if (a->port() != 0) {
        auto [it, fresh] = r.taken().listens.emplace(key, std::make_pair(s.name, n.at.line));
        if (!fresh) {
            const auto& [owner, line] = it->second;
            std::string by = owner.empty() ? "another service" : "service " + quoted(owner);
            r.fail(n.at, strfmt("%slisten address %s is already used by %s at line %d",
                                r.prefix.c_str(), key.c_str(), by.c_str(), line));
            return false;
        }
    }
    s.listen.push_back(text);
    return true;
}

KeySpec listen_key() {
    KeySpec k = spec("listen", kService);
    k.required = true;
    k.read = [](ValueReader& r, const ConfigNode& n) {
        if (n.is_array()) {
            if (n.items.empty()) {
                r.fail(n.at, r.prefix + "listen is an empty array");
                return false;
            }
            bool ok = true;
            for (const ConfigNode& el : n.items) ok = add_listen(r, el) && ok;
            return ok;
        }
        if (!n.is_string()) {
            r.fail(n.at,
                   r.prefix + "listen must be a string or an array of strings, got " + describe(n));
            return false;
        }
        return add_listen(r, n);
    };
    k.show = [](const KeyTarget& t) -> Shown {
        std::string out = "[";
        for (size_t i = 0; i < t.service->listen.size(); ++i)
            out += (i == 0 ? "" : ", ") + toml_string(t.service->listen[i]);
        return out + "]";
    };
    return k;
}

KeySpec target_key() {
    KeySpec k = spec("target", kService);
    k.required = true;
    k.read = [](ValueReader& r, const ConfigNode& n) {
        std::string target;
        if (!r.string(n, r.prefix + "target", target)) return false;
        if (auto ok = check_target_syntax(target); !ok) {
            r.fail(n.at, r.prefix + ok.message());
            return false;
        }
        r.target.service->target = target;
        return true;
    };
    k.show = [](const KeyTarget& t) -> Shown { return toml_string(t.service->target); };
    return k;
}

KeySpec record_size_key() {
    KeySpec k = spec("record_size", kService);
    k.read = [](ValueReader& r, const ConfigNode& n) {
        uint32_t& out = r.target.service->link.record_size;
        if (n.is_string() && n.text == "dynamic") {
            out = 0;
            return true;
        }
        uint64_t v = 0;
        if (!r.size(n, r.prefix + "record_size (or \"dynamic\")", kMinRecordSize, 16384, v))
            return false;
        out = static_cast<uint32_t>(v);
        return true;
    };
    k.show = [](const KeyTarget& t) -> Shown {
        uint32_t v = t.service->link.record_size;
        return v == 0 ? toml_string("dynamic") : std::to_string(v);
    };
    return k;
}

// A host name or an IP address (server_name, verify_name).
template <class Get>
KeySpec host_key(const std::string& name, std::string unset, Get get) {
    KeySpec k = spec(name, kService, KeyMode::client);
    k.unset = std::move(unset);
    k.read = [name, get](ValueReader& r, const ConfigNode& n) {
        std::string v;
        if (!r.string(n, r.prefix + name, v)) return false;
        if (auto st = check_host_or_ip(v); !st) {
            r.fail(n.at, r.prefix + name + ": " + st.message());
            return false;
        }
        get(r.target) = v;
        return true;
    };
    k.show = [get](const KeyTarget& t) -> Shown {
        if (get(t).empty()) return std::nullopt;
        return toml_string(get(t));
    };
    return k;
}

// verify_client: remembers that it was given (its default depends on
// client_ca, which the loader fills in).
KeySpec verify_client_key() {
    KeySpec k = choice(
        "verify_client", kService, KeyMode::server,
        {{"require", ipc::VerifyPeer::require},
         {"optional", ipc::VerifyPeer::optional},
         {"none", ipc::VerifyPeer::none}},
        [](const KeyTarget& t) -> auto& { return t.service->tls.verify_client; });
    k.unset = "not set: no client certificate is asked for (no client_ca)";
    auto read = k.read;
    k.read = [read](ValueReader& r, const ConfigNode& n) {
        if (n.is_string()) r.target.service->tls.verify_client_set = true;
        return read(r, n);
    };
    auto show = k.show;
    k.show = [show](const KeyTarget& t) -> Shown {
        if (t.service->tls.client_ca.empty()) return std::nullopt;
        return show(t);
    };
    return k;
}

void add_certificate_keys(std::vector<KeySpec>& k) {
    // cert, key and ocsp stand in [[service.certificate]], or in [[service]]
    // for its one certificate; the loader pairs them (a key without a cert).
    uint8_t both = kService | kCertificate;
    k.push_back(path(
        "cert", both, KeyMode::both, "not set",
        [](const KeyTarget& t) -> auto& { return t.certificate->cert_path; }));
    k.push_back(path(
        "key", both, KeyMode::both, "not set: the cert file holds the key",
        [](const KeyTarget& t) -> auto& { return t.certificate->key_path; }));
    k.push_back(list(
        "names", kCertificate, KeyMode::both, SIZE_MAX, dns_entry,
        [](const KeyTarget& t) -> auto& { return t.certificate->names; }));
    k.back().unset = "not set: the certificate's DNS names (or CN)";
    k.push_back(spec("certificate", kService));  // [[service.certificate]], walked by the loader
    k.push_back(path(
        "ocsp", both, KeyMode::both, "not set: no OCSP response is stapled",
        [](const KeyTarget& t) -> auto& { return t.certificate->ocsp_path; }));
}

void add_link_keys(std::vector<KeySpec>& k) {
    k.push_back(integer(
        "max_connections", kService, 0, 10000000,
        [](const KeyTarget& t) -> auto& { return t.service->link.max_connections; }));
    k.push_back(integer(
        "max_connections_per_source", kService, 0, 10000000,
        [](const KeyTarget& t) -> auto& { return t.service->link.max_connections_per_source; }));
    add_rates(
        k, "", kService, [](const KeyTarget& t) -> auto& { return t.service->link.service_read; },
        [](const KeyTarget& t) -> auto& { return t.service->link.service_write; });
    add_rates(
        k, "connection_", kService,
        [](const KeyTarget& t) -> auto& { return t.service->link.connection_read; },
        [](const KeyTarget& t) -> auto& { return t.service->link.connection_write; });
    k.push_back(record_size_key());
    k.push_back(size(
        "record_boost_after", kService, 1, 1ULL << 30,
        [](const KeyTarget& t) -> auto& { return t.service->link.record_boost_after; }));
    k.push_back(duration(
        "record_idle_reset", kService, 10, 3600 * 1000, true,
        [](const KeyTarget& t) -> auto& { return t.service->link.record_idle_reset_ms; }));
    k.push_back(size(
        "key_update_after", kService, 1024, 1ULL << 50,
        [](const KeyTarget& t) -> auto& { return t.service->link.key_update_bytes; }));
    k.push_back(duration(
        "key_update_interval", kService, 1000, 7 * 24 * 3600 * 1000u, true,
        [](const KeyTarget& t) -> auto& { return t.service->link.key_update_interval_ms; }));
}

void add_tls_keys(std::vector<KeySpec>& k) {
    const size_t most = ipc::kMaxListEntries;
    k.push_back(path(
        "client_ca", kService, KeyMode::server, "not set: no client certificate is asked for",
        [](const KeyTarget& t) -> auto& { return t.service->tls.client_ca; }));
    k.push_back(verify_client_key());
    k.push_back(list(
        "allow_cn", kService, KeyMode::server, most, any_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.allow_cn; }));
    k.push_back(list(
        "allow_dns", kService, KeyMode::server, most, dns_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.allow_dns; }));
    k.push_back(list(
        "allow_uri", kService, KeyMode::server, most, any_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.allow_uri; }));
    k.push_back(list(
        "allow_spki", kService, KeyMode::server, most, pin_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.allow_spki; }));
    k.push_back(list(
        "crl", kService, KeyMode::server, 64, path_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.crl; }));
    k.push_back(choice(
        "unknown_sni", kService, KeyMode::server,
        {{"default", ipc::UnknownSni::use_default}, {"refuse", ipc::UnknownSni::refuse}},
        [](const KeyTarget& t) -> auto& { return t.service->tls.unknown_sni; }));
    k.push_back(boolean(
        "session_tickets", kService, KeyMode::server,
        [](const KeyTarget& t) -> auto& { return t.service->tls.session_tickets; }));
    k.push_back(choice(
        "proxy_protocol", kService, KeyMode::server,
        {{"v1", ipc::ProxyVersion::v1},
         {"v2", ipc::ProxyVersion::v2},
         {"none", ipc::ProxyVersion::none}},
        [](const KeyTarget& t) -> auto& { return t.service->tls.proxy_protocol; }));
    k.push_back(boolean(
        "accept_proxy", kService, KeyMode::server,
        [](const KeyTarget& t) -> auto& { return t.service->tls.accept_proxy; }));
    k.push_back(path(
        "ca", kService, KeyMode::client,
        std::string("not set: the system store (") + kSystemCaFile + ")",
        [](const KeyTarget& t) -> auto& { return t.service->tls.ca; }));
    k.push_back(host_key(
        "server_name", "not set: the target's host name (none for an address)",
        [](const KeyTarget& t) -> auto& { return t.service->tls.server_name; }));
    k.push_back(host_key(
        "verify_name", "not set: server_name, else the target's host",
        [](const KeyTarget& t) -> auto& { return t.service->tls.verify_name; }));
    k.push_back(list(
        "pin_spki", kService, KeyMode::client, most, pin_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.pin_spki; }));
    k.push_back(list(
        "alpn", kService, KeyMode::both, ipc::kMaxAlpnEntries, alpn_entry,
        [](const KeyTarget& t) -> auto& { return t.service->tls.alpn; }));
}

}  // namespace

void add_service_keys(std::vector<KeySpec>& k) {
    k.push_back(name_key());
    k.push_back(choice(
        "mode", kService, KeyMode::both,
        {{"server", ipc::TlsRole::server}, {"client", ipc::TlsRole::client}},
        [](const KeyTarget& t) -> auto& { return t.service->mode; }));
    k.push_back(listen_key());
    k.push_back(target_key());
    add_certificate_keys(k);
    k.push_back(duration(
        "handshake_timeout", kService, kMinHandshakeTimeoutMs, kMaxHandshakeTimeoutMs, false,
        [](const KeyTarget& t) -> auto& { return t.service->handshake_timeout_ms; }));
    k.push_back(duration(
        "connect_timeout", kService, kMinConnectTimeoutMs, kMaxConnectTimeoutMs, false,
        [](const KeyTarget& t) -> auto& { return t.service->connect_timeout_ms; }));
    k.push_back(duration(
        "idle_timeout", kService, kMinIdleTimeoutMs, kMaxIdleTimeoutMs, true,
        [](const KeyTarget& t) -> auto& { return t.service->idle_timeout_ms; }));
    add_link_keys(k);
    add_tls_keys(k);
    k.push_back(boolean(
        "log_connections", kService, KeyMode::both,
        [](const KeyTarget& t) -> auto& { return t.service->log_connections; }));
}

}  // namespace tlsward::supervisor::key_kinds
