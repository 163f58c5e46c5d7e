#include "netproc/connection_limits.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/log.hpp"

namespace tlsward::netproc {

const char* ConnectionLimits::name(Verdict v) {
    switch (v) {
        case Verdict::ok:
            return "ok";
        case Verdict::global_full:
            return "max_connections";
        case Verdict::service_full:
            return "service_max_connections";
        case Verdict::source_full:
            return "max_connections_per_source";
    }
    return "?";
}

std::string ConnectionLimits::source_key(const SocketAddress& peer) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (peer.family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer.storage)->sin_addr, buf,
                  sizeof buf);
    } else if (peer.family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer.storage)->sin6_addr, buf,
                  sizeof buf);
    } else {
        return "local";
    }
    return buf;
}

ConnectionLimits::Verdict ConnectionLimits::admit(const std::string& service,
                                                  const ipc::LinkSettings& link,
                                                  const std::string& source) {
    Verdict v = Verdict::ok;
    if (global_max_ != 0 && open_ >= global_max_)
        v = Verdict::global_full;
    else if (link.max_connections != 0 && per_service_[service] >= link.max_connections)
        v = Verdict::service_full;
    else if (link.max_connections_per_source != 0 &&
             per_source_[service][source] >= link.max_connections_per_source)
        v = Verdict::source_full;
    if (v != Verdict::ok) {
        note_refusal(v, service, source);
        return v;
    }
    ++open_;
    ++per_service_[service];
    ++per_source_[service][source];
    return v;
}

void ConnectionLimits::release(const std::string& service, const std::string& source) {
    if (open_ > 0) --open_;
    if (auto it = per_service_.find(service); it != per_service_.end() && --it->second == 0)
        per_service_.erase(it);
    if (auto s = per_source_.find(service); s != per_source_.end()) {
        if (auto it = s->second.find(source); it != s->second.end() && --it->second == 0)
            s->second.erase(it);
        if (s->second.empty()) per_source_.erase(s);
    }
}

void ConnectionLimits::note_refusal(Verdict v, const std::string& service,
                                    const std::string& source) {
    int i = static_cast<int>(v);
    ++refused_[i];
    if (!log_[i].allow(uv_now(loop_))) return;
    LOG_WARN("event=refused reason=%s service=%s source=%s refused_total=%llu suppressed=%llu",
             name(v), service.c_str(), source.c_str(), static_cast<unsigned long long>(refused_[i]),
             static_cast<unsigned long long>(log_[i].take_suppressed()));
}

}  // namespace tlsward::netproc
