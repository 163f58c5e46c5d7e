#include "supervisor/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "supervisor/config.hpp"

namespace tlsward::supervisor {

Result<SocketAddress> resolve_target(const std::string& target) {
    if (auto s = check_target_syntax(target); !s) return s.error();
    // Numeric addresses and unix paths need no resolver.
    if (auto numeric = parse_numeric_address(target)) return numeric;

    auto hp = split_host_port(target);
    if (!hp) return hp.error();
    const auto& [host, port] = hp.value();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port_text = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
    if (rc != 0) {
        return err(ErrorKind::config, "target \"%s\": cannot resolve \"%s\": %s", target.c_str(),
                   host.c_str(), rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
    for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(sockaddr_storage))
            continue;
        SocketAddress a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.length = ai->ai_addrlen;
        return a;
    }
    return err(ErrorKind::config, "target \"%s\": \"%s\" has no IPv4 or IPv6 address",
               target.c_str(), host.c_str());
}

Result<SocketAddress> resolve_listen(const std::string& listen) {
    if (listen.rfind("unix:", 0) == 0)
        return err(ErrorKind::config,
                   "listen address \"%s\": unix sockets are not supported for listening",
                   listen.c_str());
    std::string text = listen;
    if (text.rfind("*:", 0) == 0) text = "0.0.0.0:" + text.substr(2);
    auto hp = split_host_port(text);
    if (!hp)
        return err(ErrorKind::config,
                   "listen address \"%s\": expected IP:PORT, [IPV6]:PORT or *:PORT",
                   listen.c_str());
    auto a = parse_numeric_address(text);
    if (!a)
        return err(ErrorKind::config,
                   "listen address \"%s\" must be numeric, like \"127.0.0.1:%u\", "
                   "\"[::1]:%u\" or \"*:%u\" (names are not resolved for listening)",
                   listen.c_str(), hp->second, hp->second, hp->second);
    return a;
}

}  // namespace tlsward::supervisor
