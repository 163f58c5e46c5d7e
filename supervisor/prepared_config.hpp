// A configuration made ready to run: every name resolved, every certificate
// and key read and checked. Everything that can fail happens here, before
// any process or socket changes, so a bad reload changes nothing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/result.hpp"
#include "supervisor/config.hpp"
#include "supervisor/material.hpp"

namespace tlsward::supervisor {

struct PreparedService {
    uint32_t id = 0;  // 1-based position in the configuration; stable within a generation
    ServiceConfig config;
    SocketAddress target;
    std::vector<SocketAddress> listen;
    std::vector<LoadedCertificate> certificates;
};

struct PreparedConfig {
    Config config;
    std::vector<PreparedService> services;
    unsigned helpers = 1;  // resolved from global.helpers (0 = CPUs)
};

// `note` receives warnings (expired certificate, ...) for the log.
Result<PreparedConfig> prepare_config(const Config& config,
                                      const std::function<void(const std::string&)>& note);

}  // namespace tlsward::supervisor
