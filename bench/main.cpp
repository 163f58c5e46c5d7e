// tlsward-bench: the load generator for tlsward and its peers. Parses the
// command line, prepares the process (no SIGPIPE, every fd the hard limit
// allows) and runs one mode; the report goes to stdout as a table or, with
// --json, as one JSON object. Exit status 1 when the mode failed (the
// report is still printed), 2 on a usage error.
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "bench/modes.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"

using namespace tlsward::bench;

namespace {

void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool help = argc >= 2 && std::strcmp(argv[1], "help") == 0;
    for (int i = 1; i < argc; ++i)
        help = help || std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0;
    if (help) {
        std::fputs(usage_text(), stdout);
        return 0;
    }
    auto parsed = parse_options(argc, argv);
    if (!parsed) {
        std::fprintf(stderr, "tlsward-bench: %s\n\n%s", parsed.message().c_str(), usage_text());
        return 2;
    }
    const Options& o = *parsed;
    std::signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    OPENSSL_init_ssl(0, nullptr);

    if (o.mode == "backend") {
        tlsward::Status s = run_backend(o);
        if (!s) {
            std::fprintf(stderr, "tlsward-bench backend: %s\n", s.message().c_str());
            return 1;
        }
        return 0;
    }

    Report report(o.mode);
    tlsward::Status s;
    if (o.mode == "handshakes")
        s = run_handshakes(o, report);
    else if (o.mode == "throughput")
        s = run_throughput(o, report);
    else if (o.mode == "ping")
        s = run_ping(o, report);
    else if (o.mode == "idle")
        s = run_idle(o, report);
    else if (o.mode == "openssl")
        s = run_openssl(o, report);
    else
        s = run_soak(o, report);
    if (!s) report.note("error: " + s.message());
    if (o.json)
        report.print_json(stdout);
    else
        report.print_table(stdout);
    if (!s) {
        std::fprintf(stderr, "tlsward-bench %s: %s\n", o.mode.c_str(), s.message().c_str());
        return 1;
    }
    return 0;
}
