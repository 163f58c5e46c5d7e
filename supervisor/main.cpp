// tlsward: the supervisor and the command line.
#include <signal.h>
#include <uv.h>

#include <cstdio>

#include "common/log.hpp"
#include "supervisor/command_line.hpp"
#include "supervisor/config_check.hpp"
#include "supervisor/prepared_config.hpp"
#include "supervisor/supervisor.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

constexpr int kExitUsage = 2;

int run_daemon(const Config& config) {
    log_set_level(config.global.log_level);
    auto prepared = prepare_config(config, [](const std::string& w) { LOG_WARN("%s", w.c_str()); });
    if (!prepared) {
        LOG_ERROR("event=start_failed reason=\"%s\"", prepared.message().c_str());
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    int code;
    {
        Supervisor sup(&loop, std::move(prepared.value()));
        if (auto s = sup.start(); !s) {
            LOG_ERROR("event=start_failed reason=\"%s\"", s.message().c_str());
            return 1;
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        code = sup.exit_code();
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    log_init("supervisor");
    auto cmd = parse_command_line(argc, argv);
    if (!cmd) {
        std::fprintf(stderr, "tlsward: %s\n\n%s", cmd.message().c_str(), usage_text().c_str());
        return kExitUsage;
    }
    switch (cmd->kind) {
        case CommandKind::help:
            std::fputs(usage_text().c_str(), stdout);
            return 0;
        case CommandKind::version:
            std::printf("tlsward %s\n", TLSWARD_VERSION);
            return 0;
        case CommandKind::check: {
            auto config = load_config_file(cmd->config_path);
            if (!config) {
                std::fprintf(stderr, "%s\n", config.message().c_str());
                return kExitUsage;
            }
            auto s = check_config(config.value(), [](const std::string& note) {
                std::fprintf(stderr, "warning: %s\n", note.c_str());
            });
            if (!s) {
                std::fprintf(stderr, "%s\n", s.message().c_str());
                return kExitUsage;
            }
            std::printf("%s: OK (%zu services)\n", cmd->config_path.c_str(),
                        config->services.size());
            return 0;
        }
        case CommandKind::run: {
            auto config = load_config_file(cmd->config_path);
            if (!config) {
                std::fprintf(stderr, "%s\n", config.message().c_str());
                return kExitUsage;
            }
            return run_daemon(config.value());
        }
        case CommandKind::server:
        case CommandKind::client:
            return run_daemon(cmd->config);
        case CommandKind::status:
        case CommandKind::reload:
            std::fprintf(stderr, "tlsward: '%s' needs the control socket, which is not built yet\n",
                         cmd->kind == CommandKind::status ? "status" : "reload");
            return 1;
        case CommandKind::selftest:
            std::fprintf(stderr, "tlsward: 'selftest %s' is not built yet\n",
                         cmd->selftest_what.c_str());
            return 1;
    }
    return kExitUsage;
}
