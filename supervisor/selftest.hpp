// `tlsward selftest sandbox`: for each role, starts the role's own binary
// once per forbidden system call (`--sandbox-selftest PROBE`, see
// common/sandbox_selftest.hpp), so the real policy code puts the sandbox
// on, and reports per call whether the kernel stopped it (SIGSYS). A
// baseline run per role checks that the sandbox itself lets a process run
// and exit. Run as root, the children also drop to the configured users
// and chroot, as the daemon's would.
#pragma once

#include <cstdio>

namespace tlsward::supervisor {

// Prints one line per call to `out`; returns 0 only if every forbidden call
// was stopped and both baselines ran.
int run_sandbox_selftest(std::FILE* out);

}  // namespace tlsward::supervisor
