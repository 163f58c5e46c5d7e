// Listening sockets: bound by the supervisor (which may need root for a low
// port) and kept open by it for its whole life, so that a restarted netproc
// accepts on the very same sockets and no connection attempt is refused.
#pragma once

#include "common/address.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace tlsward::supervisor {

struct BoundListener {
    SocketAddress address;  // as bound (port filled in when 0 was asked)
    UniqueFd fd;
};

Result<BoundListener> bind_listener(const SocketAddress& address);

}  // namespace tlsward::supervisor
