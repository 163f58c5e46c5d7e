// A configuration made ready to run: every name resolved, every certificate
// and key read and checked. Everything that can fail happens here, before
// any process or socket changes, so a bad reload changes nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/result.hpp"
#include "supervisor/child_users.hpp"
#include "supervisor/config.hpp"
#include "supervisor/material.hpp"

namespace tlsward::supervisor {

struct PreparedService {
    uint32_t id = 0;  // 1-based position at start; the supervisor keeps it by name across reloads
    ServiceConfig config;
    SocketAddress target;
    std::vector<SocketAddress> listen;
    std::vector<LoadedCertificate> certificates;
    // Trust material for the helpers (empty when unused).
    LoadedTrust client_ca;  // server mode with client_ca
    LoadedTrust crls;       // server mode with crl
    LoadedTrust server_ca;  // client mode: ca, or the system store
    ClientNames client;     // client mode: SNI and verification name
};

struct PreparedConfig {
    Config config;
    std::vector<PreparedService> services;
    unsigned helpers = 1;  // resolved from global.helpers (0 = CPUs)
    ChildUsers users;      // when root: the uid/gid/chroot of each child
    // Session ticket keys read from global.ticket_key_file (else none:
    // the supervisor generates them, supervisor/ticket_keys.hpp).
    std::optional<ipc::CpTicketKeys> ticket_keys;
};

// What a helper is told about a service (CP_SERVICE's TLS part), and its
// trust material as CP_TRUST bodies of at most one frame each.
ipc::ServiceTls service_tls(const PreparedService& s, const GlobalConfig& global);
std::vector<ipc::CpTrust> trust_messages(const PreparedService& s);

// `note` receives warnings (expired certificate, ...) for the log.
Result<PreparedConfig> prepare_config(const Config& config,
                                      const std::function<void(const std::string&)>& note);

}  // namespace tlsward::supervisor
