// tlsward-cryptoproc: a crypto helper. It holds the services' private keys
// and runs TLS handshakes on sockets netproc lends it, then hands the
// traffic secrets back (docs/internals.md, "The key hand-off"). Started by the supervisor as
//
//   tlsward-cryptoproc --slot N --generation G --parent-pid P [--log-level L]
//
// with its control channel on fd 3.
#include <fcntl.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <csignal>

#include "common/child_bootstrap.hpp"
#include "common/fd_poller.hpp"
#include "common/log.hpp"
#include "common/sandbox.hpp"
#include "common/sandbox_selftest.hpp"
#include "common/unique_fd.hpp"
#include "cryptoproc/helper.hpp"
#include "cryptoproc/key_export.hpp"
#include "cryptoproc/sandbox_policy.hpp"

using namespace tlsward;

int main(int argc, char** argv) {
    log_init("crypto");
    auto args = parse_child_args(argc, argv);
    if (!args) {
        LOG_ERROR("event=exit reason=\"%s\"", args.message().c_str());
        return 2;
    }
    if (!args->sandbox_selftest.empty())
        return sandbox::run_selftest_probe(cryptoproc::sandbox_policy(), *args);
    log_set_role(strfmt("crypto[%u]", args->slot));
    child_bootstrap(*args, "tlsward-crypto");
    sandbox::enter_early();

    if (fcntl(kControlFd, F_GETFD) < 0) {
        LOG_ERROR("event=exit reason=\"no control channel on fd %d\"", kControlFd);
        return 1;
    }
    // Writes to a peer that went away fail with EPIPE instead of killing us.
    std::signal(SIGPIPE, SIG_IGN);
    // Everything that reads a file happens now: OpenSSL's configuration
    // (SSL_CTXs are built later from PEM bytes over the channel, with no
    // file access), then the algorithms, fetched once before the first
    // handshake.
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr);
    if (auto s = cryptoproc::key_export_init(); !s) {
        LOG_ERROR("event=exit reason=\"%s\"", s.message().c_str());
        return 1;
    }

    uv_loop_t loop;
    if (int rc = uv_loop_init(&loop); rc != 0) {
        LOG_ERROR("event=exit reason=\"uv_loop_init: %s\"", uv_strerror(rc));
        return 1;
    }
    // The lent sockets' epoll set (common/fd_poller.hpp), made before the
    // sandbox, which allows no epoll_create1.
    auto poller = FdPoller::create(&loop);
    if (!poller) {
        LOG_ERROR("event=exit reason=\"%s\"", poller.error().message.c_str());
        return 1;
    }
    // No socket of its own, no file, exec or ptrace from here on
    // (cryptoproc/sandbox_policy.cpp). Keys arrive after this.
    if (auto s = sandbox::enter(cryptoproc::sandbox_policy(), args->identity); !s) {
        LOG_ERROR("event=exit reason=\"sandbox: %s\"", s.message().c_str());
        return 1;
    }
    int code;
    {
        cryptoproc::Helper helper(&loop, poller->get(), *args, UniqueFd(kControlFd));
        LOG_INFO("event=started generation=%u", args->generation);
        uv_run(&loop, UV_RUN_DEFAULT);
        code = helper.exit_code();
    }
    poller->reset();
    uv_run(&loop, UV_RUN_DEFAULT);  // the handles' close callbacks
    uv_loop_close(&loop);
    return code;
}
