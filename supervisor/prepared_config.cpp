#include "supervisor/prepared_config.hpp"

#include <unistd.h>

#include <algorithm>

#include "common/hex.hpp"
#include "supervisor/resolve.hpp"
#include "supervisor/ticket_keys.hpp"

namespace tlsward::supervisor {

namespace {

// Certificates are split into chunks of this much DER per CP_TRUST.
constexpr size_t kTrustChunk = 48 * 1024;

Status prepare_tls(PreparedService& ps, const GlobalConfig& global, const std::string& where,
                   const std::function<void(const std::string&)>& note) {
    const TlsConfig& tls = ps.config.tls;
    auto warn = [&](const LoadedTrust& t) {
        if (note)
            for (const std::string& w : t.warnings) note(where + ": " + w);
    };
    if (ps.config.mode == ipc::TlsRole::server) {
        if (!tls.client_ca.empty()) {
            auto ca = load_ca_certificates(tls.client_ca);
            if (!ca) return context(where + ": client_ca", ca.error());
            ps.client_ca = std::move(ca.value());
        }
        if (!tls.crl.empty()) {
            auto crls = load_crls(tls.crl);
            if (!crls) return context(where + ": crl", crls.error());
            ps.crls = std::move(crls.value());
            warn(ps.crls);
        }
    } else {
        const std::string& path = tls.ca.empty() ? std::string(kSystemCaFile) : tls.ca;
        auto ca = load_ca_certificates(path);
        if (!ca) {
            if (tls.ca.empty())
                return err(ErrorKind::config,
                           "%s: no ca is set and the system CA store cannot be used: %s",
                           where.c_str(), ca.message().c_str());
            return context(where + ": ca", ca.error());
        }
        ps.server_ca = std::move(ca.value());
        auto names = client_names(ps.config);
        if (!names) return context(where, names.error());
        ps.client = names.value();
    }
    // Everything a helper gets about the service must fit one frame (and
    // every list and entry its field).
    ipc::CpService probe;
    probe.name = ps.config.name;
    probe.tls = service_tls(ps, global);
    if (!ipc::encode_body(probe).ok())
        return err(ErrorKind::config, "%s: the allow-lists are too long (they must fit %zu bytes)",
                   where.c_str(), ipc::kMaxBody);
    return {};
}

// The pins as parse_spki_pin left them: 64 hex digits each.
std::vector<ipc::Sha256> hashes(const std::vector<std::string>& hex) {
    std::vector<ipc::Sha256> out;
    for (const std::string& h : hex) {
        ipc::Sha256 v{};
        if (!hex_decode(h, v)) v = {};
        out.push_back(v);
    }
    return out;
}

}  // namespace

ipc::ServiceTls service_tls(const PreparedService& s, const GlobalConfig& global) {
    const TlsConfig& t = s.config.tls;
    ipc::ServiceTls out;
    out.verify_client = t.client_ca.empty() ? ipc::VerifyPeer::none : t.verify_client;
    out.unknown_sni = t.unknown_sni;
    out.allow_cn = t.allow_cn;
    out.allow_dns = t.allow_dns;
    out.allow_uri = t.allow_uri;
    out.allow_spki = hashes(t.allow_spki);
    out.session_tickets = t.session_tickets;
    out.session_lifetime_s = global.session_lifetime_ms / 1000;
    out.server_name = s.client.server_name;
    out.verify_name = s.client.verify_name;
    out.pin_spki = hashes(t.pin_spki);
    out.alpn = t.alpn;
    return out;
}

std::vector<ipc::CpTrust> trust_messages(const PreparedService& s) {
    std::vector<ipc::CpTrust> out;
    auto add = [&](ipc::TrustKind kind, const LoadedTrust& t) {
        for (size_t at = 0; at < t.der.size(); at += kTrustChunk) {
            ipc::CpTrust m;
            m.service_id = s.id;
            m.kind = kind;
            size_t n = std::min(kTrustChunk, t.der.size() - at);
            m.der.assign(t.der.begin() + static_cast<long>(at),
                         t.der.begin() + static_cast<long>(at + n));
            out.push_back(std::move(m));
        }
    };
    add(ipc::TrustKind::client_ca, s.client_ca);
    add(ipc::TrustKind::crl, s.crls);
    add(ipc::TrustKind::server_ca, s.server_ca);
    return out;
}

Result<PreparedConfig> prepare_config(const Config& config,
                                      const std::function<void(const std::string&)>& note) {
    PreparedConfig p;
    p.config = config;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p.helpers = config.global.helpers != 0 ? config.global.helpers
                                           : static_cast<unsigned>(cpus > 0 ? cpus : 1);
    auto users = resolve_child_users(config);
    if (!users) return users.error();
    p.users = std::move(users.value());
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
        if (auto t = prepare_tls(ps, config.global, where, note); !t) return t.error();
        p.services.push_back(std::move(ps));
    }
    if (!config.global.ticket_key_file.empty()) {
        auto keys = read_ticket_key_file(config.global.ticket_key_file);
        if (!keys) return context("ticket_key_file", keys.error());
        p.ticket_keys = std::move(keys.value());
    }
    return p;
}

}  // namespace tlsward::supervisor
