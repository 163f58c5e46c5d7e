// tlsward-signer: holds the private keys and does nothing but sign
// (docs/internals.md, "The signer"). It reads no network byte: its inputs
// are its channel to the supervisor (keys, configuration) on fd 3 and one
// channel per crypto helper (sign requests). Started by the supervisor as
//
//   tlsward-signer --slot N --generation G --parent-pid P [--log-level L]
//                  [--uid U --gid G [--chroot DIR]]
#include <fcntl.h>
#include <openssl/crypto.h>
#include <uv.h>

#include <csignal>

#include "common/child_bootstrap.hpp"
#include "common/log.hpp"
#include "common/sandbox.hpp"
#include "common/sandbox_selftest.hpp"
#include "common/unique_fd.hpp"
#include "signer/key_store.hpp"
#include "signer/sandbox_policy.hpp"
#include "signer/signer.hpp"

using namespace tlsward;

int main(int argc, char** argv) {
    log_init("signer");
    auto args = parse_child_args(argc, argv);
    if (!args) {
        LOG_ERROR("event=exit reason=\"%s\"", args.message().c_str());
        return 2;
    }
    if (!args->sandbox_selftest.empty())
        return sandbox::run_selftest_probe(signer::sandbox_policy(), *args);
    child_bootstrap(*args, "tlsward-signer");
    sandbox::enter_early();  // non-dumpable before any key can arrive
    if (fcntl(kControlFd, F_GETFD) < 0) {
        LOG_ERROR("event=exit reason=\"no control channel on fd %d\"", kControlFd);
        return 1;
    }
    std::signal(SIGPIPE, SIG_IGN);
    // Everything that reads a file: OpenSSL's configuration, the digests.
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
    if (auto s = signer::KeyStore::prefetch(); !s) {
        LOG_ERROR("event=exit reason=\"%s\"", s.message().c_str());
        return 1;
    }
    uv_loop_t loop;
    if (int rc = uv_loop_init(&loop); rc != 0) {
        LOG_ERROR("event=exit reason=\"uv_loop_init: %s\"", uv_strerror(rc));
        return 1;
    }
    // No socket, file, exec or process call from here on
    // (signer/sandbox_policy.cpp). Keys arrive after this.
    if (auto s = sandbox::enter(signer::sandbox_policy(), args->identity); !s) {
        LOG_ERROR("event=exit reason=\"sandbox: %s\"", s.message().c_str());
        return 1;
    }
    int code;
    {
        signer::Signer signer(&loop, *args, UniqueFd(kControlFd));
        LOG_INFO("event=started generation=%u", args->generation);
        uv_run(&loop, UV_RUN_DEFAULT);
        code = signer.exit_code();
    }
    uv_run(&loop, UV_RUN_DEFAULT);  // the handles' close callbacks
    uv_loop_close(&loop);
    return code;
}
