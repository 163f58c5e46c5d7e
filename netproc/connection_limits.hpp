// Admission by count: at most N connections in all, per service, and per
// source address within a service. Counted when a connection is accepted,
// released when it closes; every refusal is counted and logged (at most
// once a second per kind, with how many were refused meanwhile).
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "common/address.hpp"
#include "common/log_limiter.hpp"
#include "ipc/messages.hpp"

namespace tlsward::netproc {

class ConnectionLimits {
public:
    explicit ConnectionLimits(uv_loop_t* loop) : loop_(loop) {}

    void set_global_max(uint32_t max) { global_max_ = max; }

    // The key identifying the source for per-source limits: the address
    // without its port.
    static std::string source_key(const SocketAddress& peer);

    enum class Verdict { ok, global_full, service_full, source_full };
    Verdict admit(const std::string& service, const ipc::LinkSettings& link,
                  const std::string& source);
    void release(const std::string& service, const std::string& source);

    uint64_t refused(Verdict v) const { return refused_[static_cast<int>(v)]; }
    uint64_t open() const { return open_; }
    static const char* name(Verdict v);

private:
    void note_refusal(Verdict v, const std::string& service, const std::string& source);

    uv_loop_t* loop_;
    uint32_t global_max_ = 0;
    uint64_t open_ = 0;
    std::unordered_map<std::string, uint64_t> per_service_;
    // service -> source -> count
    std::unordered_map<std::string, std::unordered_map<std::string, uint64_t>> per_source_;
    uint64_t refused_[4] = {0, 0, 0, 0};
    LogLimiter log_[4] = {LogLimiter(1000), LogLimiter(1000), LogLimiter(1000), LogLimiter(1000)};
};

}  // namespace tlsward::netproc
