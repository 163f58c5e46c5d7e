// Value rules of the TLS options, shared by the TOML loader and the command
// line: pins, DNS patterns, ALPN names, host names, the client-mode name
// defaults and which option belongs to which mode.
#include <arpa/inet.h>
#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/hex.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {
namespace {

bool valid_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Lower-cased host name, or an error naming what is wrong.
Result<std::string> host_name(std::string_view text) {
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    if (text.empty()) return err(ErrorKind::config, "an empty name");
    if (text.size() > 253) return err(ErrorKind::config, "a name longer than 253 characters");
    std::string out;
    size_t label = 0;
    for (char c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0)
                return err(ErrorKind::config, "\"%.*s\" has an empty label", int(text.size()),
                           text.data());
            label = 0;
        } else if (!valid_label_char(c)) {
            return err(ErrorKind::config, "\"%.*s\" is not a host name", int(text.size()),
                       text.data());
        } else if (++label > 63) {
            return err(ErrorKind::config, "\"%.*s\" has a label longer than 63 characters",
                       int(text.size()), text.data());
        }
        out += c;
    }
    return out;
}

std::string option(const char* key, bool flag) {
    if (!flag) return key;
    std::string f = std::string("--") + key;
    for (char& c : f)
        if (c == '_') c = '-';
    return f;
}

}  // namespace

bool is_ip_literal(const std::string& text) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, text.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Result<std::string> parse_spki_pin(std::string_view text) {
    std::string_view t = text;
    if (t.rfind("sha256//", 0) == 0) t.remove_prefix(8);
    std::string digits;
    for (char c : t)
        if (c != ':') digits += c;
    bool all_hex = digits.size() == 64;
    for (char c : digits) all_hex = all_hex && is_hex_digit(c);
    if (all_hex) {
        for (char& c : digits)
            if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        return digits;
    }
    // Base64 of 32 bytes: 44 characters with one '=' of padding.
    std::string b64(t);
    if (b64.size() == 44 && b64.back() == '=') {
        unsigned char out[33];
        int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(b64.data()), 44);
        if (n == 33) return hex_encode(std::span<const uint8_t>(out, 32));
    }
    return err(ErrorKind::config,
               "\"%.*s\" is not a SHA-256 pin (64 hex digits, or base64 like \"sha256//...=\"; "
               "compute it with: openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin "
               "-outform der | openssl dgst -sha256)",
               int(text.size()), text.data());
}

Result<std::string> parse_dns_pattern(std::string_view text) {
    bool wildcard = text.rfind("*.", 0) == 0;
    auto h = host_name(wildcard ? text.substr(2) : text);
    if (!h) return h.error();
    return wildcard ? "*." + h.value() : h.value();
}

Status check_alpn_protocol(std::string_view text) {
    if (text.empty() || text.size() > 255)
        return err(ErrorKind::config, "an ALPN protocol has 1 to 255 characters, got \"%.*s\"",
                   int(text.size()), text.data());
    for (char c : text)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
            c == ',')
            return err(ErrorKind::config,
                       "ALPN protocol \"%.*s\" has a character other than printable ASCII",
                       int(text.size()), text.data());
    return {};
}

Result<std::vector<std::string>> parse_alpn_list(std::string_view text) {
    std::vector<std::string> out;
    while (true) {
        size_t comma = text.find(',');
        std::string_view p = text.substr(0, comma);
        if (auto s = check_alpn_protocol(p); !s) return s.error();
        out.emplace_back(p);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    if (out.size() > ipc::kMaxAlpnEntries)
        return err(ErrorKind::config, "at most %zu ALPN protocols", ipc::kMaxAlpnEntries);
    return out;
}

Status check_host_or_ip(std::string_view text) {
    if (is_ip_literal(std::string(text))) return {};
    auto h = host_name(text);
    if (!h) return h.error();
    return {};
}

Result<ClientNames> client_names(const ServiceConfig& s) {
    ClientNames n;
    n.server_name = s.tls.server_name;
    n.verify_name = s.tls.verify_name;
    std::string host;
    if (s.target.rfind("unix:", 0) != 0) {
        auto hp = split_host_port(s.target);
        if (hp) host = hp->first;
    }
    if (n.server_name.empty() && !host.empty() && !is_ip_literal(host)) n.server_name = host;
    if (n.verify_name.empty()) n.verify_name = !n.server_name.empty() ? n.server_name : host;
    if (n.verify_name.empty())
        return err(ErrorKind::config,
                   "a unix: target has no host name to verify: set server_name or verify_name");
    for (std::string* name : {&n.server_name, &n.verify_name}) {
        if (name->empty() || is_ip_literal(*name)) continue;
        auto h = host_name(*name);
        if (!h) return h.error();
        *name = h.value();
    }
    if (is_ip_literal(n.server_name)) n.server_name.clear();  // SNI never carries an address
    return n;
}

std::vector<OptionProblem> tls_option_problems(const ServiceConfig& s, bool flag) {
    const TlsConfig& t = s.tls;
    std::vector<OptionProblem> problems;
    bool server = s.mode == ipc::TlsRole::server;
    const char* mode = server ? "server" : "client";
    // `shown` names the option when it differs from the key (a flag that
    // turns it off).
    auto wrong_mode = [&](bool set, const char* key, const char* instead,
                          const char* shown = nullptr) {
        if (!set) return;
        std::string m = strfmt("%s applies to %s mode, this service is in %s mode",
                               option(shown != nullptr ? shown : key, flag).c_str(),
                               server ? "client" : "server", mode);
        if (instead) m += strfmt(" (did you mean %s?)", option(instead, flag).c_str());
        problems.push_back({key, m});
    };
    if (server) {
        wrong_mode(!t.ca.empty(), "ca", "client_ca");
        wrong_mode(!t.server_name.empty(), "server_name", nullptr);
        wrong_mode(!t.verify_name.empty(), "verify_name", nullptr);
        wrong_mode(!t.pin_spki.empty(), "pin_spki", "allow_spki");
        bool verifying = !t.client_ca.empty();
        auto needs_ca = [&](bool set, const char* key) {
            if (set && !verifying)
                problems.push_back(
                    {key, strfmt("%s needs %s (the CA that issues client certificates)",
                                 option(key, flag).c_str(), option("client_ca", flag).c_str())});
        };
        needs_ca(!t.allow_cn.empty(), "allow_cn");
        needs_ca(!t.allow_dns.empty(), "allow_dns");
        needs_ca(!t.allow_uri.empty(), "allow_uri");
        needs_ca(!t.allow_spki.empty(), "allow_spki");
        needs_ca(!t.crl.empty(), "crl");
        needs_ca(t.verify_client_set && t.verify_client != ipc::VerifyPeer::none, "verify_client");
        if (verifying && t.verify_client_set && t.verify_client == ipc::VerifyPeer::none)
            problems.push_back(
                {"verify_client",
                 strfmt("%s = none contradicts %s (leave out %s to not ask for certificates)",
                        option("verify_client", flag).c_str(), option("client_ca", flag).c_str(),
                        option("client_ca", flag).c_str())});
    } else {
        wrong_mode(!t.client_ca.empty(), "client_ca", "ca");
        wrong_mode(t.verify_client_set, "verify_client", nullptr);
        wrong_mode(!t.allow_cn.empty(), "allow_cn", nullptr);
        wrong_mode(!t.allow_dns.empty(), "allow_dns", nullptr);
        wrong_mode(!t.allow_uri.empty(), "allow_uri", nullptr);
        wrong_mode(!t.allow_spki.empty(), "allow_spki", "pin_spki");
        wrong_mode(!t.crl.empty(), "crl", nullptr);
        wrong_mode(t.unknown_sni != ipc::UnknownSni::use_default, "unknown_sni", nullptr);
        wrong_mode(!t.session_tickets, "session_tickets", nullptr,
                   flag ? "no_session_tickets" : nullptr);
        wrong_mode(t.proxy_protocol != ipc::ProxyVersion::none, "proxy_protocol", nullptr);
        wrong_mode(t.accept_proxy, "accept_proxy", nullptr);
        if (!s.target.empty())
            if (auto n = client_names(s); !n) problems.push_back({"target", n.message()});
    }
    return problems;
}

Status check_tls_options(const ServiceConfig& s, bool flag) {
    std::string all;
    for (const OptionProblem& p : tls_option_problems(s, flag)) {
        if (!all.empty()) all += '\n';
        all += p.text;
    }
    if (!all.empty()) return Error{ErrorKind::config, all};
    return {};
}

}  // namespace tlsward::supervisor
