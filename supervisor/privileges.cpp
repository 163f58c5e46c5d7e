#include "supervisor/privileges.hpp"

#include <linux/capability.h>
#include <unistd.h>

#include "common/capabilities.hpp"

namespace tlsward::supervisor {

namespace {

constexpr int kKeep[] = {CAP_SETUID,           CAP_SETGID, CAP_SYS_CHROOT,
                         CAP_NET_BIND_SERVICE, CAP_KILL,   CAP_SYS_NICE};
// What a child needs between exec and its sandbox (common/sandbox.cpp):
// chroot, setgroups, setresgid, setresuid. It drops them right after.
constexpr int kChildren[] = {CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT};

}  // namespace

Result<std::string> keep_only_runtime_privileges() {
    if (!caps::any_permitted()) return std::string();
    auto limited = caps::limit_to(kKeep, kChildren);
    if (!limited) return limited.error();
    return strfmt("uid=%u kept=%s inherited=%s bounding_dropped=%d%s",
                  static_cast<unsigned>(geteuid()),
                  limited->kept.empty() ? "none" : limited->kept.c_str(),
                  limited->inherited.empty() ? (geteuid() == 0 ? "bounding_set" : "none")
                                             : limited->inherited.c_str(),
                  limited->bounding_dropped,
                  limited->bounding_locked ? " bounding_set=left_to_service_manager" : "");
}

}  // namespace tlsward::supervisor
