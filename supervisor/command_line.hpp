// The "tlsward" command line: run, check, server, client, status, reload,
// selftest, version, help. "server" and "client" build a one-service Config
// from flags (ghostunnel-style quick mode).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {

enum class CommandKind { run, check, server, client, status, reload, selftest, version, help };

struct Command {
    CommandKind kind = CommandKind::help;
    std::string config_path;            // run/check: --config FILE (default kDefaultConfigPath)
    bool print = false;                 // check --print: the configuration in effect, as TOML
    std::optional<LogLevel> log_level;  // run --log-level: overrides the file's, across reloads
    Config config;                      // server/client: built from flags (source = "command line")
    std::string control_path;           // --control PATH (run/server/client/status/reload)
    bool json = false;                  // status --json
    std::string selftest_what;          // selftest sandbox
    bool foreground = true;
};

// argv[0] is the program. Errors are one line naming the bad flag; the caller
// prints usage_text() after it. Accepts "--flag value" and "--flag=value".
Result<Command> parse_command_line(int argc, char** argv);
std::string usage_text();
// Every option of every command ("--listen", "--json", ...), for the test
// that the usage, docs/configuration.md and tlsward(8) name each one.
std::vector<std::string> command_line_options();

}  // namespace tlsward::supervisor
