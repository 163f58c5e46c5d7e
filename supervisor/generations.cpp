#include "supervisor/generations.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace tlsward::supervisor {

Generations::Generations(PreparedConfig first) : active_(std::make_unique<Generation>()) {
    active_->number = last_number_ = 1;
    active_->config = std::move(first);
    for (const PreparedService& s : active_->config.services)
        last_service_id_ = std::max(last_service_id_, s.id);
}

void Generations::assign_service_ids(PreparedConfig& config) {
    std::map<std::pair<std::string, ipc::TlsRole>, uint32_t> known;
    for (const PreparedService& s : active_->config.services)
        known[{s.config.name, s.config.mode}] = s.id;
    for (PreparedService& s : config.services) {
        auto it = known.find({s.config.name, s.config.mode});
        s.id = it != known.end() ? it->second : ++last_service_id_;
    }
}

Generation& Generations::begin(PreparedConfig config, std::vector<ServiceListener> listeners,
                               std::shared_ptr<MetricsSocket> metrics) {
    pending_ = std::make_unique<Generation>();
    pending_->number = ++last_number_;
    pending_->config = std::move(config);
    pending_->listeners = std::move(listeners);
    pending_->metrics = std::move(metrics);
    return *pending_;
}

std::unique_ptr<Generation> Generations::commit() {
    std::unique_ptr<Generation> old = std::move(active_);
    active_ = std::move(pending_);
    return old;
}

bool Generations::active_helper(const Child& c) const {
    return c.role == ipc::ProcessRole::cryptoproc && !c.retiring && c.generation == active_->number;
}

bool Generations::pending_helper(const Child& c) const {
    return pending_ && c.role == ipc::ProcessRole::cryptoproc && !c.retiring &&
           c.generation == pending_->number;
}

const PreparedConfig& Generations::config_for(const Child& c) const {
    if (pending_ && c.role == ipc::ProcessRole::cryptoproc && c.generation == pending_->number)
        return pending_->config;
    return active_->config;
}

}  // namespace tlsward::supervisor
