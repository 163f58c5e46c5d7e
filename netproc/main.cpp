// tlsward-netproc: the network process. Started by the supervisor only.
#include <signal.h>
#include <uv.h>

#include <openssl/crypto.h>

#include <cstdio>

#include "common/child_bootstrap.hpp"
#include "common/fd_poller.hpp"
#include "common/log.hpp"
#include "common/sandbox.hpp"
#include "common/sandbox_selftest.hpp"
#include "netproc/netproc.hpp"
#include "netproc/record_layer.hpp"
#include "netproc/sandbox_policy.hpp"

using namespace tlsward;

int main(int argc, char** argv) {
    log_init("netproc");
    auto args = parse_child_args(argc, argv);
    if (!args) {
        std::fprintf(stderr, "tlsward-netproc: %s\n", args.message().c_str());
        return 2;
    }
    if (!args->sandbox_selftest.empty())
        return sandbox::run_selftest_probe(netproc::sandbox_policy(), *args);
    child_bootstrap(args.value(), "tlsward-net");
    sandbox::enter_early();
    // Writes to a closed peer return EPIPE (MSG_NOSIGNAL covers sockets;
    // this covers everything else). Stop signals (a terminal's SIGINT, a
    // service manager's SIGTERM to the whole group) are the supervisor's
    // to handle: it tells us how to stop, so draining is not cut short.
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    // Everything that reads a file happens now: OpenSSL's configuration,
    // then every cipher and KDF, fetched once before any connection (OpenSSL
    // 3.0 looks algorithms up, with locks, on every fetch).
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
    if (auto s = netproc::RecordLayer::prefetch_algorithms(); !s) {
        LOG_ERROR("event=exit reason=\"%s\"", s.message().c_str());
        return 1;
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    // Connection sockets' epoll set (common/fd_poller.hpp), made before
    // the sandbox, which allows no epoll_create1.
    auto poller = FdPoller::create(&loop);
    if (!poller) {
        LOG_ERROR("event=exit reason=\"%s\"", poller.error().message.c_str());
        return 1;
    }
    // No file, exec or ptrace from here on (netproc/sandbox_policy.cpp).
    if (auto s = sandbox::enter(netproc::sandbox_policy(), args->identity); !s) {
        LOG_ERROR("event=exit reason=\"sandbox: %s\"", s.message().c_str());
        return 1;
    }
    int code;
    {
        netproc::NetProc np(&loop, poller->get(), args.value(), UniqueFd(kControlFd));
        uv_run(&loop, UV_RUN_DEFAULT);
        code = np.exit_code();
    }
    poller->reset();
    // Let the handles closed by the destructors finish closing.
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    LOG_DEBUG("event=exit code=%d", code);
    return code;
}
