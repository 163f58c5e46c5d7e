// A connection's peer address in 28 bytes, not SocketAddress's 136
// (sockaddr_storage is sized for every family): one per connection, so it
// counts in the memory of an idle connection. IPv4 and IPv6 addresses are
// kept whole; a Unix peer (unnamed, as clients are) keeps its family only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "common/address.hpp"

namespace tlsward::netproc {

class PeerAddress {
public:
    PeerAddress() = default;
    explicit PeerAddress(const SocketAddress& a) {
        if (a.family() == AF_INET && a.length >= sizeof u_.v4)
            std::memcpy(&u_.v4, &a.storage, sizeof u_.v4);
        else if (a.family() == AF_INET6 && a.length >= sizeof u_.v6)
            std::memcpy(&u_.v6, &a.storage, sizeof u_.v6);
        else
            u_.family = a.family();
    }

    SocketAddress full() const {
        SocketAddress a;
        if (u_.family == AF_INET) {
            std::memcpy(&a.storage, &u_.v4, sizeof u_.v4);
            a.length = sizeof u_.v4;
        } else if (u_.family == AF_INET6) {
            std::memcpy(&a.storage, &u_.v6, sizeof u_.v6);
            a.length = sizeof u_.v6;
        } else {
            a.storage.ss_family = u_.family;
            a.length = sizeof(sa_family_t);
        }
        return a;
    }
    std::string to_string() const { return full().to_string(); }

private:
    union {
        sa_family_t family;
        sockaddr_in v4;
        sockaddr_in6 v6;
    } u_{};
};

static_assert(sizeof(PeerAddress) == sizeof(sockaddr_in6));

}  // namespace tlsward::netproc
