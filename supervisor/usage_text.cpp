// `tlsward help`, and what main prints after a command-line error. Every
// option of command_line.cpp's tables appears here (test_config_docs.cpp
// checks it, and that tlsward(8) and docs/configuration.md name each one).
#include <string>

#include "supervisor/command_line.hpp"

namespace tlsward::supervisor {

std::string usage_text() {
    return strfmt(
        "usage:\n"
        "  tlsward run [--config FILE] [--control PATH] [--log-level LEVEL]\n"
        "      run the daemon with a configuration file (default %s);\n"
        "      --log-level overrides the file's log_level, also across reloads\n"
        "  tlsward check [--config FILE] [--print]\n"
        "      validate the configuration, load every certificate and key, resolve targets;\n"
        "      --print writes the configuration in effect (defaults filled in) as TOML\n"
        "  tlsward server --listen ADDR:PORT --target HOST:PORT --cert FILE [--key FILE]\n"
        "                 [--listen ADDR:PORT ...] [--cert FILE [--key FILE] ...]\n"
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
        "Options take \"--flag value\" or \"--flag=value\". Without --key, the --cert file\n"
        "holds the key too (a combined PEM). Listen addresses are numeric\n"
        "(127.0.0.1:8443, [::1]:8443, *:8443); targets may be names or unix:/path.\n"
        "Durations are seconds (10) or a number with a unit (500ms, 10s, 2m).\n"
        "LEVEL is debug, info, warn or error. See docs/configuration.md.\n",
        kDefaultConfigPath);
}

}  // namespace tlsward::supervisor
