// A socket address that can travel over IPC: IPv4, IPv6 or a Unix path.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace tlsward {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const { return storage.ss_family; }
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
    uint16_t port() const;
    // "127.0.0.1:8443", "[::1]:8443" or "unix:/run/x.sock".
    std::string to_string() const;

    void encode(ByteWriter& w) const;
    static bool decode(ByteReader& r, SocketAddress& out);
};

// Parses a numeric "HOST:PORT", "[V6]:PORT" or "unix:PATH". Names are
// resolved by the supervisor (resolve_address), never by netproc.
Result<SocketAddress> parse_numeric_address(const std::string& text);

// Splits "HOST:PORT" / "[V6]:PORT" into its parts.
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& text);

}  // namespace tlsward
