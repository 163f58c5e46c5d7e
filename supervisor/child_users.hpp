// Who each child becomes when tlsward starts as root: netproc runs as
// `user` (default "tlsward"), the crypto helpers as `crypto_user` (default
// "tlsward-crypto"), two different users so that a broken netproc can
// neither ptrace nor signal a helper, each chrooted into `chroot_dir`, an
// empty root-owned directory (default /run/tlsward/empty, made when
// missing). The package creates the users; a missing one stops the start.
// "Privileged" is root, or a non-root supervisor with CAP_SETUID and
// CAP_SETGID (the packaged unit's User= with AmbientCapabilities=); the
// chroot needs CAP_SYS_CHROOT as well and is left out (with a note) without
// it. Started
// unprivileged, nothing is resolved: the children skip the step and say so.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/sandbox.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {

struct ChildUsers {
    sandbox::Identity netproc;
    sandbox::Identity helper;
    std::vector<std::string> notes;  // for the log, one line each
};

// Privileged: getpwnam for both users (a missing user, uid 0, or the same uid for
// both is an error naming the user), and the chroot directory checked (made
// 0755 root:root when missing; it must be a root-owned directory nobody
// else can write to, and empty). netproc is not chrooted when a service
// targets a unix: socket (the path would not exist inside). Unprivileged:
// both identities empty.
Result<ChildUsers> resolve_child_users(const Config& config);

// --uid U --gid G [--chroot DIR], or nothing for an empty identity.
std::vector<std::string> identity_args(const sandbox::Identity& identity);

}  // namespace tlsward::supervisor
