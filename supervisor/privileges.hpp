// What the supervisor keeps once it runs. Start-up needed more (reading
// root-only files, binding, the first children); from then on it only
// restarts children, starts a reload's helpers and binds a reload's new
// addresses, so it keeps exactly what those take:
//   CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT  children change user and chroot
//                                           (the only ones children inherit;
//                                           each only if it was there)
//   CAP_NET_BIND_SERVICE                    a reload may add a port below 1024
//   CAP_KILL                                children run as other users
//   CAP_SYS_NICE                            a child's nice value below 0
// and loses everything else (CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_SYS_PTRACE,
// ...), in the bounding set too when it may. It stays the uid it started as:
// root-owned key files must stay readable for reloads (docs/security.md).
#pragma once

#include <string>

#include "common/result.hpp"

namespace tlsward::supervisor {

// Nothing to do (and nothing said) without capabilities. Returns one log
// line's worth: "kept=cap_..,.. inherited=.. bounding_dropped=N".
Result<std::string> keep_only_runtime_privileges();

}  // namespace tlsward::supervisor
