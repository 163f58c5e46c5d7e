// Turns configured address strings into socket addresses. Only the
// supervisor resolves names (netproc and the helpers have no resolver).
#pragma once

#include <string>

#include "common/address.hpp"
#include "common/result.hpp"

namespace tlsward::supervisor {

// "HOST:PORT" (numeric, or a name through getaddrinfo: the first result, in
// the order the system prefers), "[V6]:PORT" or "unix:/path".
Result<SocketAddress> resolve_target(const std::string& target);

// Listening addresses are numeric: "127.0.0.1:8443", "[::1]:8443", or
// "*:8443" meaning 0.0.0.0:8443 (all IPv4 addresses; write "[::]:8443" for
// IPv6). Port 0 and unix paths are refused.
Result<SocketAddress> resolve_listen(const std::string& listen);

}  // namespace tlsward::supervisor
