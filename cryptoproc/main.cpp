// tlsward-cryptoproc: a crypto helper. It holds the services' private keys
// and runs TLS handshakes on sockets netproc lends it, then hands the
// traffic secrets back (design.md). Started by the supervisor as
//
//   tlsward-cryptoproc --slot N --generation G --parent-pid P [--log-level L]
//
// with its control channel on fd 3.
#include <fcntl.h>
#include <uv.h>

#include <csignal>

#include "common/child_bootstrap.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "cryptoproc/helper.hpp"
#include "cryptoproc/key_export.hpp"

using namespace tlsward;

int main(int argc, char** argv) {
    log_init("crypto");
    auto args = parse_child_args(argc, argv);
    if (!args) {
        LOG_ERROR("event=exit reason=\"%s\"", args.message().c_str());
        return 2;
    }
    log_set_role(strfmt("crypto[%u]", args->slot));
    child_bootstrap(*args, "tlsward-crypto");

    if (fcntl(kControlFd, F_GETFD) < 0) {
        LOG_ERROR("event=exit reason=\"no control channel on fd %d\"", kControlFd);
        return 1;
    }
    // Writes to a peer that went away fail with EPIPE instead of killing us.
    std::signal(SIGPIPE, SIG_IGN);
    // Algorithms are fetched once, before the first handshake.
    if (auto s = cryptoproc::key_export_init(); !s) {
        LOG_ERROR("event=exit reason=\"%s\"", s.message().c_str());
        return 1;
    }

    uv_loop_t loop;
    if (int rc = uv_loop_init(&loop); rc != 0) {
        LOG_ERROR("event=exit reason=\"uv_loop_init: %s\"", uv_strerror(rc));
        return 1;
    }
    int code;
    {
        cryptoproc::Helper helper(&loop, *args, UniqueFd(kControlFd));
        LOG_INFO("event=started generation=%u", args->generation);
        uv_run(&loop, UV_RUN_DEFAULT);
        code = helper.exit_code();
    }
    uv_run(&loop, UV_RUN_DEFAULT);  // the handles' close callbacks
    uv_loop_close(&loop);
    return code;
}
