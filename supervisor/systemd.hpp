// What the supervisor tells systemd and takes from it (sd-daemon):
// Type=notify state changes (READY, RELOADING, STOPPING, STATUS), the
// watchdog, and socket activation. Without systemd (no NOTIFY_SOCKET, no
// WATCHDOG_USEC, no LISTEN_FDS) every call here does nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace tlsward::supervisor::systemd {

// True when systemd (or a test) listens on NOTIFY_SOCKET.
bool notify_enabled();

void notify_ready();
// RELOADING=1 with MONOTONIC_USEC (what Type=notify-reload expects).
void notify_reloading();
void notify_stopping();
void notify_status(const std::string& text);
void notify_watchdog();

// The interval within which systemd expects WATCHDOG=1 from this very
// process (WATCHDOG_USEC, and WATCHDOG_PID when set); 0: no watchdog.
uint64_t watchdog_interval_ms();

struct InheritedSocket {
    UniqueFd fd;
    std::string name;  // from LISTEN_FDNAMES; "unknown" when not named
};

// The listening sockets systemd passed (LISTEN_FDS for this pid), with
// their names. The variables are removed from the environment, so the
// children never see them. Anything that is not a listening stream socket
// is closed and reported in `rejected`.
std::vector<InheritedSocket> inherited_sockets(std::vector<std::string>& rejected);

}  // namespace tlsward::supervisor::systemd
