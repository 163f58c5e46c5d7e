#include "supervisor/listener_plan.hpp"

#include <set>

namespace tlsward::supervisor {

namespace {

bool same_address(const SocketAddress& a, const SocketAddress& b) {
    return a.family() == b.family() && a.to_string() == b.to_string();
}

}  // namespace

Result<std::vector<ServiceListener>> plan_listeners(
    const PreparedConfig& config, const std::vector<ServiceListener>& current,
    const std::vector<std::shared_ptr<ListenSocket>>& inherited, const BindFn& bind) {
    std::set<std::string> names;
    for (const PreparedService& s : config.services) names.insert(s.config.name);

    std::vector<ServiceListener> plan;
    std::set<const ListenSocket*> taken;
    auto add = [&](const PreparedService& s, std::shared_ptr<ListenSocket> sock, bool fresh) {
        taken.insert(sock.get());
        plan.push_back(ServiceListener{s.id, s.config.name, std::move(sock), fresh});
    };

    for (const PreparedService& s : config.services) {
        // 1. systemd's sockets named after the service.
        bool named = false;
        for (const auto& sock : inherited) {
            if (sock->systemd_name == s.config.name && !taken.count(sock.get())) {
                add(s, sock, false);
                named = true;
            }
        }
        if (named) continue;

        for (const SocketAddress& want : s.listen) {
            std::shared_ptr<ListenSocket> found;
            // 2. a systemd socket bound to this address.
            if (want.port() != 0) {
                for (const auto& sock : inherited) {
                    if (!taken.count(sock.get()) && !names.count(sock->systemd_name) &&
                        same_address(sock->bound, want)) {
                        found = sock;
                        break;
                    }
                }
            }
            // 3. the same service's socket for the same configured address.
            if (!found) {
                for (const ServiceListener& l : current) {
                    if (!taken.count(l.socket.get()) && !l.socket->from_systemd &&
                        l.service_name == s.config.name &&
                        same_address(l.socket->requested, want)) {
                        found = l.socket;
                        break;
                    }
                }
            }
            // 4. any socket bound to this very address.
            if (!found && want.port() != 0) {
                for (const ServiceListener& l : current) {
                    if (!taken.count(l.socket.get()) && !l.socket->from_systemd &&
                        same_address(l.socket->bound, want)) {
                        found = l.socket;
                        break;
                    }
                }
            }
            if (found) {
                add(s, std::move(found), false);
                continue;
            }
            // 5. a new socket. On error, `plan` (and the sockets bound into
            // it) goes away with the return.
            auto b = bind(want);
            if (!b) return context(strfmt("service \"%s\"", s.config.name.c_str()), b.error());
            auto sock = std::make_shared<ListenSocket>();
            sock->requested = want;
            sock->bound = b->address;
            sock->fd = std::move(b->fd);
            add(s, std::move(sock), true);
        }
    }
    return plan;
}

std::vector<std::shared_ptr<ListenSocket>> unused_inherited(
    const std::vector<ServiceListener>& plan,
    const std::vector<std::shared_ptr<ListenSocket>>& inherited) {
    std::vector<std::shared_ptr<ListenSocket>> out;
    for (const auto& sock : inherited) {
        bool used = false;
        for (const ServiceListener& l : plan) used = used || l.socket == sock;
        if (!used) out.push_back(sock);
    }
    return out;
}

}  // namespace tlsward::supervisor
