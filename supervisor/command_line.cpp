// "tlsward COMMAND [OPTIONS]". Each command declares the options it takes;
// anything else is an error naming the option, so a mistyped flag never
// silently becomes a default.
#include "supervisor/command_line.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "supervisor/credentials.hpp"
#include "supervisor/metrics_listener.hpp"
#include "supervisor/resolve.hpp"

namespace tlsward::supervisor {
namespace {

struct OptionSpec {
    const char* name;  // with the leading "--"
    bool takes_value;
    bool repeatable;
};

struct Option {
    std::string name;
    std::string value;
};

constexpr OptionSpec kRunOptions[] = {
    {"--config", true, false},
    {"--control", true, false},
};
constexpr OptionSpec kCheckOptions[] = {
    {"--config", true, false},
};
constexpr OptionSpec kTunnelOptions[] = {
    {"--listen", true, true},
    {"--target", true, false},
    {"--cert", true, true},
    {"--key", true, true},
    {"--helpers", true, false},
    {"--netproc-realtime-priority", true, false},
    {"--handshake-timeout", true, false},
    {"--connect-timeout", true, false},
    {"--idle-timeout", true, false},
    {"--drain-time", true, false},
    {"--rate-limit", true, false},
    {"--key-update-bytes", true, false},
    {"--max-connections", true, false},
    {"--max-connections-per-source", true, false},
    {"--record-size", true, false},
    {"--name", true, false},
    {"--log-level", true, false},
    {"--control", true, false},
    {"--metrics", true, false},
};
// TLS options of the quick modes (ghostunnel's names where it has them).
// Both modes take all of them; check_tls_options() says which belongs to
// the other mode, with a hint.
constexpr OptionSpec kTunnelTlsOptions[] = {
    {"--client-ca", true, false},
    {"--verify-client", true, false},
    {"--allow-cn", true, true},
    {"--allow-dns", true, true},
    {"--allow-uri", true, true},
    {"--allow-spki", true, true},
    {"--crl", true, true},
    {"--alpn", true, false},
    {"--proxy-protocol", true, false},
    {"--accept-proxy", false, false},
    {"--unknown-sni", true, false},
    {"--ticket-key-file", true, false},
    {"--no-session-tickets", false, false},
    {"--ca", true, false},
    {"--server-name", true, false},
    {"--verify-name", true, false},
    {"--pin-spki", true, true},
    {"--client-cert", true, false},
    {"--client-key", true, false},
};

std::span<const OptionSpec> tunnel_specs() {
    static const std::vector<OptionSpec> all = [] {
        std::vector<OptionSpec> v(std::begin(kTunnelOptions), std::end(kTunnelOptions));
        v.insert(v.end(), std::begin(kTunnelTlsOptions), std::end(kTunnelTlsOptions));
        return v;
    }();
    return all;
}

constexpr OptionSpec kStatusOptions[] = {
    {"--json", false, false},
    {"--control", true, false},
};
constexpr OptionSpec kReloadOptions[] = {
    {"--control", true, false},
};

struct Parsed {
    std::vector<Option> options;
    std::vector<std::string> positionals;
    bool help = false;
};

// Splits argv[2..] into options (checked against specs) and positionals.
Result<Parsed> split_args(int argc, char** argv, const std::string& command,
                          std::span<const OptionSpec> specs) {
    Parsed out;
    std::set<std::string> seen;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            out.help = true;
            continue;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            out.positionals.push_back(arg);
            continue;
        }
        std::string name = arg;
        std::string value;
        bool inline_value = false;
        if (size_t eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        const OptionSpec* spec = nullptr;
        for (const OptionSpec& s : specs)
            if (name == s.name) spec = &s;
        if (spec == nullptr)
            return err(ErrorKind::config, "unknown option %s for 'tlsward %s'", name.c_str(),
                       command.c_str());
        if (!spec->takes_value) {
            if (inline_value)
                return err(ErrorKind::config, "option %s takes no value", name.c_str());
        } else if (!inline_value) {
            if (i + 1 >= argc || std::string_view(argv[i + 1]).rfind("--", 0) == 0)
                return err(ErrorKind::config, "option %s needs a value", name.c_str());
            value = argv[++i];
        }
        if (spec->takes_value && value.empty())
            return err(ErrorKind::config, "option %s needs a value", name.c_str());
        if (!spec->repeatable && !seen.insert(name).second)
            return err(ErrorKind::config, "option %s is given more than once", name.c_str());
        out.options.push_back({name, value});
    }
    return out;
}

Status no_positionals(const Parsed& p, const std::string& command) {
    if (!p.positionals.empty())
        return err(ErrorKind::config, "unexpected argument \"%s\" for 'tlsward %s'",
                   p.positionals[0].c_str(), command.c_str());
    return {};
}

std::string absolute(const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) return path;
    std::string base = cwd;
    if (base != "/") base += '/';
    return base + path;
}

Result<uint64_t> parse_count(const std::string& flag, const std::string& text, uint64_t max) {
    if (text.empty() || text.size() > 10 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoull(text) > max)
        return err(ErrorKind::config, "option %s must be a whole number from 0 to %llu, got \"%s\"",
                   flag.c_str(), static_cast<unsigned long long>(max), text.c_str());
    return std::stoull(text);
}

Result<uint32_t> parse_timeout(const std::string& flag, const std::string& text, uint32_t min,
                               uint32_t max, bool allow_zero) {
    auto d = parse_duration_ms(text, true);
    if (!d)
        return err(ErrorKind::config,
                   "option %s must be a number of seconds or a duration like \"10s\" or "
                   "\"500ms\", got \"%s\"",
                   flag.c_str(), text.c_str());
    if (allow_zero && d.value() == 0) return uint32_t{0};
    if (d.value() < min || d.value() > max)
        return err(ErrorKind::config, "option %s must be %sbetween %s and %s, got \"%s\"",
                   flag.c_str(), allow_zero ? "0 (none) or " : "", format_duration_ms(min).c_str(),
                   format_duration_ms(max).c_str(), text.c_str());
    return static_cast<uint32_t>(d.value());
}

Result<uint64_t> parse_size(const std::string& flag, const std::string& text, uint64_t min,
                            uint64_t max) {
    auto b = parse_size_bytes(text);
    if (!b || (b.value() != 0 && (b.value() < min || b.value() > max)))
        return err(ErrorKind::config,
                   "option %s must be 0 (none) or a size from %llu to %llu bytes (like 64KiB or "
                   "10MB), got \"%s\"",
                   flag.c_str(), static_cast<unsigned long long>(min),
                   static_cast<unsigned long long>(max), text.c_str());
    return b.value();
}

// A file flag's value: absolute, or a systemd credential
// ("credential:NAME", supervisor/credentials.hpp).
Result<std::string> file_flag(const Option& o) {
    if (is_credential_reference(o.value)) {
        auto p = credential_path(o.value);
        if (!p) return err(ErrorKind::config, "option %s: %s", o.name.c_str(), p.message().c_str());
        return p;
    }
    return absolute(o.value);
}

// One TLS flag into the service (or the global ticket key file). False:
// not a TLS flag.
Result<bool> apply_tls_flag(const Option& o, ServiceConfig& svc, GlobalConfig& global,
                            std::vector<std::string>& certs, std::vector<std::string>& keys) {
    TlsConfig& t = svc.tls;
    const std::string& v = o.value;
    bool client = svc.mode == ipc::TlsRole::client;
    auto list = [&](std::vector<std::string>& out, Result<std::string> r) -> Result<bool> {
        if (!r) return err(ErrorKind::config, "option %s: %s", o.name.c_str(), r.message().c_str());
        if (out.size() >= ipc::kMaxListEntries)
            return err(ErrorKind::config, "option %s is given more than %zu times", o.name.c_str(),
                       ipc::kMaxListEntries);
        out.push_back(r.value());
        return true;
    };
    if (o.name == "--client-ca") {
        auto f = file_flag(o);
        if (!f) return f.error();
        t.client_ca = f.value();
    } else if (o.name == "--ca") {
        auto f = file_flag(o);
        if (!f) return f.error();
        t.ca = f.value();
    } else if (o.name == "--verify-client") {
        t.verify_client_set = true;
        if (v == "require")
            t.verify_client = ipc::VerifyPeer::require;
        else if (v == "optional")
            t.verify_client = ipc::VerifyPeer::optional;
        else if (v == "none")
            t.verify_client = ipc::VerifyPeer::none;
        else
            return err(ErrorKind::config,
                       "option --verify-client must be require, optional or none, got \"%s\"",
                       v.c_str());
    } else if (o.name == "--allow-cn") {
        return list(t.allow_cn, v);
    } else if (o.name == "--allow-dns") {
        return list(t.allow_dns, parse_dns_pattern(v));
    } else if (o.name == "--allow-uri") {
        return list(t.allow_uri, v);
    } else if (o.name == "--allow-spki") {
        return list(t.allow_spki, parse_spki_pin(v));
    } else if (o.name == "--pin-spki") {
        return list(t.pin_spki, parse_spki_pin(v));
    } else if (o.name == "--crl") {
        auto f = file_flag(o);
        if (!f) return f.error();
        return list(t.crl, f.value());
    } else if (o.name == "--alpn") {
        auto a = parse_alpn_list(v);
        if (!a) return err(ErrorKind::config, "option --alpn: %s", a.message().c_str());
        t.alpn = a.value();
    } else if (o.name == "--proxy-protocol") {
        if (v == "v1")
            t.proxy_protocol = ipc::ProxyVersion::v1;
        else if (v == "v2")
            t.proxy_protocol = ipc::ProxyVersion::v2;
        else if (v == "none")
            t.proxy_protocol = ipc::ProxyVersion::none;
        else
            return err(ErrorKind::config,
                       "option --proxy-protocol must be v1, v2 or none, got \"%s\"", v.c_str());
    } else if (o.name == "--accept-proxy") {
        t.accept_proxy = true;
    } else if (o.name == "--unknown-sni") {
        if (v == "default")
            t.unknown_sni = ipc::UnknownSni::use_default;
        else if (v == "refuse")
            t.unknown_sni = ipc::UnknownSni::refuse;
        else
            return err(ErrorKind::config,
                       "option --unknown-sni must be default or refuse, got \"%s\"", v.c_str());
    } else if (o.name == "--ticket-key-file") {
        auto f = file_flag(o);
        if (!f) return f.error();
        global.ticket_key_file = f.value();
    } else if (o.name == "--no-session-tickets") {
        t.session_tickets = false;
    } else if (o.name == "--server-name" || o.name == "--verify-name") {
        if (auto st = check_host_or_ip(v); !st)
            return err(ErrorKind::config, "option %s: %s", o.name.c_str(), st.message().c_str());
        (o.name == "--server-name" ? t.server_name : t.verify_name) = v;
    } else if (o.name == "--client-cert" || o.name == "--client-key") {
        if (!client)
            return err(ErrorKind::config,
                       "option %s is for 'tlsward client'; a server's own certificate is "
                       "--cert/--key (and --client-ca verifies clients)",
                       o.name.c_str());
        auto f = file_flag(o);
        if (!f) return f.error();
        (o.name == "--client-cert" ? certs : keys).push_back(f.value());
    } else {
        return false;
    }
    return true;
}

Status build_tunnel(const Parsed& p, const std::string& command, Command& cmd) {
    if (auto s = no_positionals(p, command); !s) return s;
    Config& config = cmd.config;
    config.source = kCommandLineSource;
    ServiceConfig svc;
    svc.mode = cmd.kind == CommandKind::server ? ipc::TlsRole::server : ipc::TlsRole::client;
    svc.name = command;
    std::vector<std::string> certs, keys;
    std::set<std::string> listen_seen;

    for (const Option& o : p.options) {
        const std::string& v = o.value;
        auto tls = apply_tls_flag(o, svc, config.global, certs, keys);
        if (!tls) return tls.error();
        if (tls.value()) continue;
        if (o.name == "--listen") {
            auto a = resolve_listen(v);
            if (!a) return err(ErrorKind::config, "option --listen: %s", a.message().c_str());
            if (a->port() != 0 && !listen_seen.insert(a->to_string()).second)
                return err(ErrorKind::config, "option --listen: address %s is given twice",
                           a->to_string().c_str());
            svc.listen.push_back(v);
        } else if (o.name == "--target") {
            if (auto s = check_target_syntax(v); !s)
                return err(ErrorKind::config, "option --target: %s", s.message().c_str());
            svc.target = v;
        } else if (o.name == "--cert") {
            auto f = file_flag(o);
            if (!f) return f.error();
            certs.push_back(f.value());
        } else if (o.name == "--key") {
            auto f = file_flag(o);
            if (!f) return f.error();
            keys.push_back(f.value());
        } else if (o.name == "--helpers") {
            auto n = parse_count(o.name, v, kMaxHelpers);
            if (!n) return n.error();
            config.global.helpers = static_cast<unsigned>(n.value());
        } else if (o.name == "--netproc-realtime-priority") {
            auto n = parse_count(o.name, v, kMaxRealtimePriority);
            if (!n) return n.error();
            config.global.netproc_realtime_priority = static_cast<int>(n.value());
        } else if (o.name == "--handshake-timeout") {
            auto t =
                parse_timeout(o.name, v, kMinHandshakeTimeoutMs, kMaxHandshakeTimeoutMs, false);
            if (!t) return t.error();
            svc.handshake_timeout_ms = t.value();
        } else if (o.name == "--connect-timeout") {
            auto t = parse_timeout(o.name, v, kMinConnectTimeoutMs, kMaxConnectTimeoutMs, false);
            if (!t) return t.error();
            svc.connect_timeout_ms = t.value();
        } else if (o.name == "--idle-timeout") {
            auto t = parse_timeout(o.name, v, kMinIdleTimeoutMs, kMaxIdleTimeoutMs, true);
            if (!t) return t.error();
            svc.idle_timeout_ms = t.value();
        } else if (o.name == "--rate-limit") {
            // Per connection, both directions (what a ghostunnel or stunnel
            // user means by "limit each client").
            auto r = parse_size(o.name, v, 1024, kMaxRate);
            if (!r) return r.error();
            ipc::RateLimit limit{r.value(), r.value() == 0 ? 0 : default_burst(r.value())};
            svc.link.connection_read = limit;
            svc.link.connection_write = limit;
        } else if (o.name == "--key-update-bytes") {
            auto r = parse_size(o.name, v, 1024, uint64_t{1} << 50);
            if (!r) return r.error();
            svc.link.key_update_bytes = r.value();
        } else if (o.name == "--max-connections") {
            auto n = parse_count(o.name, v, 10000000);
            if (!n) return n.error();
            svc.link.max_connections = static_cast<uint32_t>(n.value());
        } else if (o.name == "--max-connections-per-source") {
            auto n = parse_count(o.name, v, 10000000);
            if (!n) return n.error();
            svc.link.max_connections_per_source = static_cast<uint32_t>(n.value());
        } else if (o.name == "--record-size") {
            if (v == "dynamic") {
                svc.link.record_size = 0;
            } else {
                auto r = parse_size(o.name, v, kMinRecordSize, 16384);
                if (!r)
                    return err(ErrorKind::config,
                               "option --record-size must be \"dynamic\" or %u to 16384, got "
                               "\"%s\"",
                               kMinRecordSize, v.c_str());
                svc.link.record_size = static_cast<uint32_t>(r.value());
            }
        } else if (o.name == "--drain-time") {
            auto t = parse_timeout(o.name, v, 1, kMaxDrainMs, true);
            if (!t) return t.error();
            config.global.drain_ms = t.value();
        } else if (o.name == "--name") {
            if (!valid_service_name(v))
                return err(ErrorKind::config,
                           "option --name must be 1 to 64 characters from a-z, A-Z, 0-9, '_', "
                           "'.' and '-', got \"%s\"",
                           v.c_str());
            svc.name = v;
        } else if (o.name == "--log-level") {
            if (!parse_log_level(v, config.global.log_level))
                return err(ErrorKind::config,
                           "option --log-level must be debug, info, warn or error, got \"%s\"",
                           v.c_str());
        } else if (o.name == "--control") {
            cmd.control_path = v;
        } else if (o.name == "--metrics") {
            if (auto a = parse_metrics_listen(v); !a)
                return err(ErrorKind::config, "option --metrics: %s", a.message().c_str());
            config.metrics.listen = v;
        }
    }
    if (svc.listen.empty())
        return err(ErrorKind::config, "'tlsward %s' needs --listen ADDR:PORT", command.c_str());
    if (svc.target.empty())
        return err(ErrorKind::config, "'tlsward %s' needs --target HOST:PORT", command.c_str());
    if (certs.size() != keys.size())
        return err(ErrorKind::config,
                   "options --cert and --key come in pairs (got %zu --cert and %zu --key)",
                   certs.size(), keys.size());
    for (size_t i = 0; i < certs.size(); ++i) svc.certificates.push_back({certs[i], keys[i]});
    if (svc.mode == ipc::TlsRole::server && svc.certificates.empty())
        return err(ErrorKind::config, "'tlsward server' needs --cert FILE and --key FILE");
    if (svc.mode == ipc::TlsRole::client && svc.certificates.size() > 1)
        return err(ErrorKind::config, "'tlsward client' takes at most one --cert/--key pair");
    if (!svc.tls.client_ca.empty() && !svc.tls.verify_client_set)
        svc.tls.verify_client = ipc::VerifyPeer::require;
    if (auto s = check_tls_options(svc, true); !s) return s.error();
    config.services.push_back(std::move(svc));
    return {};
}

}  // namespace

Result<Command> parse_command_line(int argc, char** argv) {
    Command cmd;
    if (argc < 2 || argv == nullptr) return err(ErrorKind::config, "no command given");
    const std::string command = argv[1];
    if (command == "help" || command == "--help" || command == "-h") {
        cmd.kind = CommandKind::help;
        return cmd;
    }
    if (command == "version" || command == "--version") {
        if (argc > 2)
            return err(ErrorKind::config, "unexpected argument \"%s\" for 'tlsward version'",
                       argv[2]);
        cmd.kind = CommandKind::version;
        return cmd;
    }
    if (!command.empty() && command[0] == '-')
        return err(ErrorKind::config,
                   "unknown option %s (options come after the command, as in 'tlsward run "
                   "--config FILE')",
                   command.c_str());

    std::span<const OptionSpec> specs;
    if (command == "run") {
        cmd.kind = CommandKind::run;
        specs = kRunOptions;
    } else if (command == "check") {
        cmd.kind = CommandKind::check;
        specs = kCheckOptions;
    } else if (command == "server") {
        cmd.kind = CommandKind::server;
        specs = tunnel_specs();
    } else if (command == "client") {
        cmd.kind = CommandKind::client;
        specs = tunnel_specs();
    } else if (command == "status") {
        cmd.kind = CommandKind::status;
        specs = kStatusOptions;
    } else if (command == "reload") {
        cmd.kind = CommandKind::reload;
        specs = kReloadOptions;
    } else if (command == "selftest") {
        cmd.kind = CommandKind::selftest;
    } else {
        return err(ErrorKind::config, "unknown command \"%s\"", command.c_str());
    }

    auto parsed = split_args(argc, argv, command, specs);
    if (!parsed) return parsed.error();
    const Parsed& p = parsed.value();
    if (p.help) {
        Command help;
        help.kind = CommandKind::help;
        return help;
    }

    switch (cmd.kind) {
        case CommandKind::run:
        case CommandKind::check:
            if (auto s = no_positionals(p, command); !s) return s.error();
            cmd.config_path = kDefaultConfigPath;
            for (const Option& o : p.options) {
                if (o.name == "--config") cmd.config_path = o.value;
                if (o.name == "--control") cmd.control_path = o.value;
            }
            break;
        case CommandKind::server:
        case CommandKind::client:
            if (auto s = build_tunnel(p, command, cmd); !s) return s.error();
            break;
        case CommandKind::status:
        case CommandKind::reload:
            if (auto s = no_positionals(p, command); !s) return s.error();
            for (const Option& o : p.options) {
                if (o.name == "--json") cmd.json = true;
                if (o.name == "--control") cmd.control_path = o.value;
            }
            break;
        case CommandKind::selftest:
            if (p.positionals.empty())
                return err(ErrorKind::config, "'tlsward selftest' needs what to test (sandbox)");
            if (p.positionals.size() > 1)
                return err(ErrorKind::config, "unexpected argument \"%s\" for 'tlsward selftest'",
                           p.positionals[1].c_str());
            if (p.positionals[0] != "sandbox")
                return err(ErrorKind::config, "unknown selftest \"%s\" (known: sandbox)",
                           p.positionals[0].c_str());
            cmd.selftest_what = p.positionals[0];
            break;
        default:
            break;
    }
    return cmd;
}

std::string usage_text() {
    return strfmt(
        "usage:\n"
        "  tlsward run [--config FILE] [--control PATH]\n"
        "      run the daemon with a configuration file (default %s)\n"
        "  tlsward check [--config FILE]\n"
        "      validate the configuration, load every certificate and key, resolve targets\n"
        "  tlsward server --listen ADDR:PORT --target HOST:PORT --cert FILE --key FILE\n"
        "                 [--listen ADDR:PORT ...] [--cert FILE --key FILE ...]\n"
        "                 [--helpers N] [--handshake-timeout SECONDS] [--connect-timeout SECONDS]\n"
        "                 [--idle-timeout SECONDS] [--drain-time SECONDS] [--name NAME]\n"
        "                 [--log-level LEVEL] [--netproc-realtime-priority N]\n"
        "                 [--rate-limit BYTES_PER_S] [--key-update-bytes N] [--record-size N]\n"
        "                 [--max-connections N] [--max-connections-per-source N]\n"
        "                 [--control PATH] [--metrics ADDR:PORT|unix:PATH]\n"
        "                 [--client-ca FILE|DIR [--verify-client require|optional]\n"
        "                  [--allow-cn CN] [--allow-dns NAME] [--allow-uri URI]\n"
        "                  [--allow-spki SHA256] [--crl FILE]] [--alpn h2,http/1.1]\n"
        "                 [--proxy-protocol v1|v2] [--accept-proxy] [--unknown-sni refuse]\n"
        "                 [--ticket-key-file FILE | --no-session-tickets]\n"
        "      terminate TLS on ADDR:PORT and forward plaintext to the target\n"
        "  tlsward client --listen ADDR:PORT --target HOST:PORT [--ca FILE|DIR]\n"
        "                 [--server-name NAME] [--verify-name NAME|IP] [--pin-spki SHA256]\n"
        "                 [--client-cert FILE --client-key FILE] [--alpn LIST]\n"
        "                 [the general options of server]\n"
        "      accept plaintext on ADDR:PORT and forward it over TLS to the target\n"
        "  tlsward status [--json] [--control PATH]\n"
        "  tlsward reload [--control PATH]\n"
        "  tlsward selftest sandbox\n"
        "  tlsward version\n"
        "  tlsward help\n"
        "\n"
        "Options take \"--flag value\" or \"--flag=value\". Listen addresses are numeric\n"
        "(127.0.0.1:8443, [::1]:8443, *:8443); targets may be names or unix:/path.\n"
        "Durations are seconds (10) or a number with a unit (500ms, 10s, 2m).\n"
        "LEVEL is debug, info, warn or error. See docs/configuration.md.\n",
        kDefaultConfigPath);
}

}  // namespace tlsward::supervisor
