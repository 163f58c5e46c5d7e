#include "common/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

namespace tlsward {

uint16_t SocketAddress::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (family() == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

std::string SocketAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        return strfmt("%s:%u", buf, port());
    }
    if (family() == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        return strfmt("[%s]:%u", buf, port());
    }
    if (family() == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
        return std::string("unix:") + un->sun_path;
    }
    return "(unknown address)";
}

void SocketAddress::encode(ByteWriter& w) const {
    w.u16(length);
    w.bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&storage), length));
}

bool SocketAddress::decode(ByteReader& r, SocketAddress& out) {
    uint16_t len = 0;
    if (!r.u16(len) || len > sizeof(sockaddr_storage) || len < sizeof(sa_family_t)) return false;
    out = SocketAddress{};
    if (!r.copy(&out.storage, len)) return false;
    out.length = len;
    switch (out.family()) {
        case AF_INET:
            return len == sizeof(sockaddr_in);
        case AF_INET6:
            return len == sizeof(sockaddr_in6);
        case AF_UNIX:
            return len <= sizeof(sockaddr_un);
        default:
            return false;
    }
}

Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return err(ErrorKind::config, "address \"%s\": expected [IPV6]:PORT", text.c_str());
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string::npos)
            return err(ErrorKind::config, "address \"%s\": expected HOST:PORT", text.c_str());
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            return err(ErrorKind::config,
                       "address \"%s\": put an IPv6 address in brackets, as [::1]:PORT",
                       text.c_str());
    }
    if (host.empty())
        return err(ErrorKind::config, "address \"%s\": the host is missing", text.c_str());
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
        return err(ErrorKind::config, "address \"%s\": \"%s\" is not a port number", text.c_str(),
                   port.c_str());
    unsigned long p = std::stoul(port);
    if (p > 65535)
        return err(ErrorKind::config, "address \"%s\": port %lu is out of range", text.c_str(), p);
    return std::make_pair(host, static_cast<uint16_t>(p));
}

Result<SocketAddress> parse_numeric_address(const std::string& text) {
    SocketAddress a;
    if (text.rfind("unix:", 0) == 0) {
        std::string path = text.substr(5);
        auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
        if (path.empty() || path.size() >= sizeof(un->sun_path))
            return err(ErrorKind::config, "address \"%s\": unix socket path is empty or too long",
                       text.c_str());
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
        a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        return a;
    }
    auto hp = split_host_port(text);
    if (!hp) return hp.error();
    const auto& [host, port] = hp.value();
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    a = SocketAddress{};
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    return err(ErrorKind::config, "address \"%s\": \"%s\" is not a numeric IP address",
               text.c_str(), host.c_str());
}

}  // namespace tlsward
