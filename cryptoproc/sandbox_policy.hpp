// What a crypto helper may do once its start-up is over (common/sandbox.hpp
// applies it; docs/security.md has the table).
#pragma once

#include "common/sandbox.hpp"

namespace tlsward::cryptoproc {

sandbox::Policy sandbox_policy();

}  // namespace tlsward::cryptoproc
