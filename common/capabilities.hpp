// Linux capabilities without libcap: the few calls tlsward needs, on the
// raw capget/capset/prctl interface. Two users:
// - a child drops every capability right after it changes user
//   (common/sandbox.cpp): started by root the kernel clears them anyway,
//   but started by a non-root supervisor that holds capabilities (systemd's
//   User= with AmbientCapabilities=) the kernel keeps them across the uid
//   change;
// - the supervisor, once it has started, keeps only what restarts and
//   reloads need (supervisor/privileges.cpp).
#pragma once

#include <span>
#include <string>

#include "common/result.hpp"

namespace tlsward::caps {

// True when `cap` (CAP_*) is in the effective set.
bool effective(int cap);

// True when the permitted set is not empty.
bool any_permitted();

// Empties the permitted, effective, inheritable and ambient sets (the
// bounding set needs CAP_SETPCAP and is left alone: with no_new_privs and
// nothing permitted, exec grants nothing anyway).
Status drop_all();

struct Limited {
    std::string kept;          // "cap_setuid,cap_kill" (what was permitted and is kept)
    std::string inherited;     // what children get across exec (ambient), non-root only
    int bounding_dropped = 0;  // capabilities removed from the bounding set
    bool bounding_locked =
        false;  // some were left: no CAP_SETPCAP (the service manager's set holds)
};

// Keeps `keep` (those of them the process has) in the permitted and
// effective sets and drops the rest; drops everything but `keep` from the
// bounding set when the process may (CAP_SETPCAP); `inherit` (a subset of
// `keep`) becomes the inheritable and, for a non-root uid, the ambient set,
// so that children started with exec get those and no more.
Result<Limited> limit_to(std::span<const int> keep, std::span<const int> inherit);

// "cap_net_bind_service", or "cap_N" for a number this build has no name for.
std::string name(int cap);

}  // namespace tlsward::caps
