// Which listening socket serves which service, at start and across
// reloads. The supervisor owns every listening socket for its whole life
// (netproc gets copies), so a reload keeps the sockets of addresses that
// are still configured — established connections and the accept backlog
// never notice — binds only what is new, and closes what is gone once the
// new configuration is running.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "supervisor/listeners.hpp"
#include "supervisor/prepared_config.hpp"

namespace tlsward::supervisor {

struct ListenSocket {
    SocketAddress requested;  // as configured (port 0: any free port); systemd's: as bound
    SocketAddress bound;      // what the socket is bound to
    UniqueFd fd;
    bool from_systemd = false;
    std::string systemd_name;  // LISTEN_FDNAMES entry ("unknown" when unnamed)
};

// One listen address of one service, and the socket that serves it. The
// socket is shared between the configurations that use it (the running
// one and a reload's), and closes when the last of them lets it go.
struct ServiceListener {
    uint32_t service_id = 0;
    std::string service_name;
    std::shared_ptr<ListenSocket> socket;
    bool newly_bound = false;  // bound by this plan (for the log)
};

using BindFn = std::function<Result<BoundListener>(const SocketAddress&)>;

// For every listen address of every service of `config`, the first of:
//  1. if systemd passed sockets named after the service: all of those, and
//     the service binds nothing itself;
//  2. a socket systemd passed (not named after another service) that is
//     bound to that very address;
//  3. the socket `current` has for the same service and address (port 0
//     included: a reload keeps the port the kernel picked);
//  4. a socket `current` has bound to that very address (the address moved
//     to another service);
//  5. a new socket from `bind`.
// `current` and `inherited` are not changed. On error (a bind failing) the
// sockets bound so far are closed and nothing else has changed.
Result<std::vector<ServiceListener>> plan_listeners(
    const PreparedConfig& config, const std::vector<ServiceListener>& current,
    const std::vector<std::shared_ptr<ListenSocket>>& inherited, const BindFn& bind);

// Sockets systemd passed that no service of the plan uses.
std::vector<std::shared_ptr<ListenSocket>> unused_inherited(
    const std::vector<ServiceListener>& plan,
    const std::vector<std::shared_ptr<ListenSocket>>& inherited);

}  // namespace tlsward::supervisor
