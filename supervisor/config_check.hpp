// "tlsward check": everything the supervisor would verify before it starts,
// without starting: the configuration (already parsed), every certificate
// and key (load_certificate), every target (resolve_target) and every listen
// address (resolve_listen). Nothing is bound or spawned.
#pragma once

#include <functional>
#include <string>

#include "common/result.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {

// Returns every problem found, one per line ("FILE:LINE: service "web": ...").
// warn (optional) receives each warning (expired certificate, chain order,
// key file mode); info (optional) one line per resolved target and per
// certificate summary.
using NoteFn = std::function<void(const std::string&)>;
Status check_config(const Config& config, const NoteFn& warn = nullptr,
                    const NoteFn& info = nullptr);

}  // namespace tlsward::supervisor
