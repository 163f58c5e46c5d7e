// Where the supervisor finds tlsward-netproc and tlsward-cryptoproc: next to
// its own executable in a build tree, else in the library exec directory
// it was installed with. TLSWARD_LIBEXEC_DIR overrides both (tests).
#pragma once

#include <string>

#include "common/result.hpp"

namespace tlsward::supervisor {

Result<std::string> child_executable(const std::string& name);

}  // namespace tlsward::supervisor
