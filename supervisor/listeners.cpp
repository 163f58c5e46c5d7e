#include "supervisor/listeners.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace tlsward::supervisor {

namespace {
// The kernel caps this at net.core.somaxconn.
constexpr int kBacklog = 4096;
}  // namespace

Result<BoundListener> bind_listener(const SocketAddress& address) {
    std::string name = address.to_string();
    UniqueFd fd(socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return err(ErrorKind::io, "listen %s: socket: %s", name.c_str(), strerror(errno));
    int one = 1;
    if (address.family() != AF_UNIX)
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (address.family() == AF_INET6)
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd.get(), address.sa(), address.length) != 0)
        return err(ErrorKind::io, "listen %s: bind: %s", name.c_str(), strerror(errno));
    if (listen(fd.get(), kBacklog) != 0)
        return err(ErrorKind::io, "listen %s: listen: %s", name.c_str(), strerror(errno));
    BoundListener b;
    b.address.length = sizeof b.address.storage;
    if (getsockname(fd.get(), b.address.sa(), &b.address.length) != 0) b.address = address;
    b.fd = std::move(fd);
    return b;
}

}  // namespace tlsward::supervisor
