// The child's half of `tlsward selftest sandbox` (supervisor/selftest.cpp
// is the other): a role binary started with `--sandbox-selftest PROBE`
// applies its real sandbox, prints "armed", makes exactly one system call
// (raw, so libc cannot substitute another) and, if it is still alive,
// prints "survived ...". The parent reads how it ended.
#pragma once

#include <string>
#include <vector>

#include "common/child_bootstrap.hpp"
#include "common/sandbox.hpp"

namespace tlsward::sandbox {

inline constexpr const char* kProbeArmed = "armed";
inline constexpr const char* kProbeSurvived = "survived";
// The probe that makes no forbidden call: the sandbox goes on and the
// process then exits normally.
inline constexpr const char* kBaselineProbe = "none";

// Every probe a child knows, baseline included.
std::vector<std::string> selftest_probe_names();

// Runs args.sandbox_selftest under `policy`; returns the exit code.
int run_selftest_probe(const Policy& policy, const ChildArgs& args);

}  // namespace tlsward::sandbox
