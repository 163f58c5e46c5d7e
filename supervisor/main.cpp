// tlsward: the supervisor and the command line.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>

#include "common/journal_log.hpp"
#include "common/log.hpp"
#include "supervisor/command_line.hpp"
#include "supervisor/config_check.hpp"
#include "supervisor/control_socket.hpp"
#include "supervisor/prepared_config.hpp"
#include "supervisor/privileges.hpp"
#include "supervisor/selftest.hpp"
#include "supervisor/supervisor.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

constexpr int kExitUsage = 2;
// "tlsward status" answers at once; "tlsward reload" waits for the new
// generation (a thousand certificates take a while).
constexpr uint64_t kStatusTimeoutMs = 10000;
constexpr uint64_t kReloadTimeoutMs = 300000;

std::string absolute(const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) return path;
    std::string base = cwd;
    if (base != "/") base += '/';
    return base + path;
}

// A daemon serving many listeners and connections needs more than the
// usual 1024 descriptors: take what the hard limit allows.
void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// --control, else the configuration's control_socket, else the default.
Supervisor::Options control_options(const Command& cmd, const Config& config) {
    Supervisor::Options o;
    if (!cmd.control_path.empty()) {
        o.control_path = absolute(cmd.control_path);
        o.control_path_explicit = true;
    } else if (!config.global.control_socket.empty()) {
        o.control_path = absolute(config.global.control_socket);
        o.control_path_explicit = true;
    } else {
        o.control_path = default_control_path();
    }
    return o;
}

// Under systemd, log records with fields (common/journal_log.hpp). The
// socket lives as long as the process; above fd 9 so that a child's fd 3
// and 4 are never it.
void use_journal_if_there() {
    UniqueFd j = connect_journal();
    if (!j) return;
    int fd = fcntl(j.get(), F_DUPFD_CLOEXEC, 10);
    if (fd >= 0) log_set_journal_fd(fd);
}

int run_daemon(const Config& config, Supervisor::Options options) {
    use_journal_if_there();
    log_set_level(config.global.log_level);
    auto prepared = prepare_config(config, [](const std::string& w) {
        LOG_WARN("event=config_warning detail=\"%s\"", w.c_str());
    });
    if (!prepared) {
        LOG_ERROR("event=start_failed reason=\"%s\"", prepared.message().c_str());
        return 1;
    }
    for (const std::string& note : prepared->users.notes)
        LOG_INFO("event=sandbox_note note=\"%s\"", note.c_str());
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    uv_loop_t loop;
    uv_loop_init(&loop);
    int code;
    {
        Supervisor sup(&loop, std::move(prepared.value()), std::move(options));
        if (auto s = sup.start(); !s) {
            LOG_ERROR("event=start_failed reason=\"%s\"", s.message().c_str());
            code = 1;
        } else {
            // Listening sockets bound, children started: from here on only
            // what restarts and reloads take (supervisor/privileges.hpp).
            auto kept = keep_only_runtime_privileges();
            if (!kept) {
                LOG_ERROR("event=start_failed reason=\"dropping privileges: %s\"",
                          kept.message().c_str());
                code = 1;
            } else {
                if (!kept->empty()) LOG_INFO("event=privileges_dropped %s", kept->c_str());
                uv_run(&loop, UV_RUN_DEFAULT);
                code = sup.exit_code();
            }
        }
    }
    // The handles closed by the destructors finish closing.
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
            // With --print, standard output is the TOML alone (it loads
            // back), the verdict goes to standard error.
            if (cmd->print) std::fputs(format_config(config.value()).c_str(), stdout);
            std::fprintf(cmd->print ? stderr : stdout, "%s: OK (%zu services)\n",
                         cmd->config_path.c_str(), config->services.size());
            return 0;
        }
        case CommandKind::run: {
            // A reload reads the same file again, wherever the daemon's
            // working directory is by then.
            // --log-level wins over the file's log_level, at every reload too.
            std::string path = absolute(cmd->config_path);
            auto load = [path, level = cmd->log_level]() -> Result<Config> {
                auto c = load_config_file(path);
                if (c && level) c->global.log_level = *level;
                return c;
            };
            auto config = load();
            if (!config) {
                // The daemon's log, like every later failure to start.
                LOG_ERROR("event=start_failed reason=\"%s\"", config.message().c_str());
                return kExitUsage;
            }
            auto options = control_options(cmd.value(), config.value());
            options.reload_config = load;
            return run_daemon(config.value(), std::move(options));
        }
        case CommandKind::server:
        case CommandKind::client: {
            // Quick mode: a reload reads the certificate and key files
            // named on the command line again.
            auto options = control_options(cmd.value(), cmd->config);
            Config flags = cmd->config;
            options.reload_config = [flags]() -> Result<Config> { return flags; };
            return run_daemon(cmd->config, std::move(options));
        }
        case CommandKind::status:
        case CommandKind::reload: {
            bool reload = cmd->kind == CommandKind::reload;
            std::string path =
                cmd->control_path.empty() ? default_control_path() : absolute(cmd->control_path);
            auto answer =
                control_request(path, reload ? "reload" : (cmd->json ? "status json" : "status"),
                                reload ? kReloadTimeoutMs : kStatusTimeoutMs);
            if (!answer) {
                std::fprintf(stderr, "tlsward: %s\n", answer.message().c_str());
                return 1;
            }
            std::fputs(answer->body.c_str(), answer->ok ? stdout : stderr);
            if (!answer->ok && reload)
                std::fputs("tlsward: the running configuration is unchanged\n", stderr);
            return answer->ok ? 0 : 1;
        }
        case CommandKind::selftest:
            return run_sandbox_selftest(stdout);  // "sandbox" is the only one
    }
    return kExitUsage;
}
