#include "netproc/helper_pool.hpp"

#include "common/log.hpp"

namespace tlsward::netproc {

HelperPool::HelperPool(uv_loop_t* loop, Callbacks cb) : loop_(loop), cb_(std::move(cb)) {
    reaper_ = std::make_unique<UvCheck>(loop, [this] { retired_.clear(); });
}

HelperPool::~HelperPool() = default;

void HelperPool::set_limits(size_t queue_limit, size_t max_jobs_per_helper) {
    queue_limit_ = queue_limit;
    max_jobs_ = max_jobs_per_helper == 0 ? 1 : max_jobs_per_helper;
}

size_t HelperPool::live_helpers(uint32_t generation) const {
    size_t n = 0;
    for (const auto& [slot, h] : helpers_)
        if (h.generation == generation) ++n;
    return n;
}

void HelperPool::add_helper(uint32_t slot, uint32_t generation, UniqueFd channel) {
    if (helpers_.count(slot)) drop_helper(slot, "replaced by a new helper in its slot");
    Helper h;
    h.slot = slot;
    h.generation = generation;
    h.channel = std::make_unique<ipc::UvChannel>(
        loop_, std::move(channel), strfmt("crypto[%u]", slot),
        [this, slot](ipc::Message&& m) { on_message(slot, std::move(m)); },
        [this, slot](const Error& e) { drop_helper(slot, e.message); });
    helpers_[slot] = std::move(h);
    LOG_INFO("event=helper_attached slot=%u generation=%u", slot, generation);
    pump_queue();
}

HelperPool::Helper* HelperPool::pick() {
    Helper* best = nullptr;
    for (auto& [slot, h] : helpers_) {
        if (h.generation != generation_ || h.jobs >= max_jobs_ || h.channel->failed()) continue;
        if (!best || h.jobs < best->jobs) best = &h;
    }
    return best;
}

bool HelperPool::send_to(Helper& h, HandshakeRequest& req) {
    auto body = ipc::encode_body(req.job);
    if (!h.channel->send(ipc::MsgType::hs_job, req.conn_id, body, req.fd)) return false;
    owner_[req.conn_id] = h.slot;
    ++h.jobs;
    return true;
}

HelperPool::Submit HelperPool::submit(HandshakeRequest req) {
    if (queue_.empty()) {
        if (Helper* h = pick()) {
            if (send_to(*h, req)) return Submit::sent;
        }
    }
    if (queue_.size() >= queue_limit_) return Submit::refused;
    req.enqueued_ms = uv_now(loop_);
    queue_.push_back(std::move(req));
    return Submit::queued;
}

void HelperPool::pump_queue() {
    while (!queue_.empty()) {
        Helper* h = pick();
        if (!h) return;
        HandshakeRequest req = std::move(queue_.front());
        queue_.pop_front();
        if (!send_to(*h, req)) {
            // The channel failed while sending; drop_helper already ran.
            queue_.push_front(std::move(req));
        }
    }
}

void HelperPool::cancel(uint64_t conn_id) {
    auto it = owner_.find(conn_id);
    if (it != owner_.end()) {
        auto h = helpers_.find(it->second);
        if (h != helpers_.end() && h->second.jobs > 0) --h->second.jobs;
        owner_.erase(it);
        pump_queue();
        return;
    }
    for (auto q = queue_.begin(); q != queue_.end(); ++q) {
        if (q->conn_id == conn_id) {
            queue_.erase(q);
            return;
        }
    }
}

void HelperPool::on_message(uint32_t slot, ipc::Message&& m) {
    // What a helper may send netproc: HANDSHAKE_DONE and HANDSHAKE_FAILED,
    // each for a job this very helper has in flight. Anything else means
    // the helper is broken or compromised; it is cut off.
    uint64_t id = m.request_id();
    auto owner = owner_.find(id);
    bool ours = owner != owner_.end() && owner->second == slot;
    switch (m.type()) {
        case ipc::MsgType::hs_done: {
            auto done = ipc::decode_message<ipc::HandshakeDone>(m);
            if (!done) return drop_helper(slot, done.message());
            if (done->conn_id != id)
                return drop_helper(slot, strfmt("HANDSHAKE_DONE for job %llu names connection %llu",
                                                static_cast<unsigned long long>(id),
                                                static_cast<unsigned long long>(done->conn_id)));
            if (!ours) {
                // A job we cancelled (connection closed meanwhile) is fine;
                // one we never gave this helper is a violation.
                if (owner != owner_.end())
                    return drop_helper(slot, strfmt("answer for job %llu of another helper",
                                                    static_cast<unsigned long long>(id)));
                return;
            }
            owner_.erase(owner);
            --helpers_[slot].jobs;
            cb_.done(id, std::move(done.value()));
            break;
        }
        case ipc::MsgType::hs_failed: {
            auto failed = ipc::decode_message<ipc::HandshakeFailed>(m);
            if (!failed) return drop_helper(slot, failed.message());
            if (!ours) {
                if (owner != owner_.end())
                    return drop_helper(slot, strfmt("answer for job %llu of another helper",
                                                    static_cast<unsigned long long>(id)));
                return;
            }
            owner_.erase(owner);
            --helpers_[slot].jobs;
            cb_.failed(id, failed.value());
            break;
        }
        default:
            return drop_helper(slot, strfmt("message %s is not accepted from a helper",
                                            ipc::msg_type_name(m.type())));
    }
    pump_queue();
}

void HelperPool::drop_helper(uint32_t slot, const std::string& why) {
    auto it = helpers_.find(slot);
    if (it == helpers_.end()) return;
    Helper h = std::move(it->second);
    helpers_.erase(it);
    h.channel->close();
    retired_.push_back(std::move(h.channel));

    std::vector<uint64_t> lost;
    for (auto o = owner_.begin(); o != owner_.end();) {
        if (o->second == slot) {
            lost.push_back(o->first);
            o = owner_.erase(o);
        } else {
            ++o;
        }
    }
    if (why == ipc::kPeerClosed)
        LOG_WARN("event=helper_lost slot=%u generation=%u handshakes_failed=%zu", slot,
                 h.generation, lost.size());
    else
        LOG_ERROR("event=helper_dropped slot=%u generation=%u reason=\"%s\" handshakes_failed=%zu",
                  slot, h.generation, why.c_str(), lost.size());
    ipc::HandshakeFailed f;
    f.reason = ipc::FailReason::io_error;
    f.detail = strfmt("crypto helper %u went away", slot);
    for (uint64_t id : lost) cb_.failed(id, f);
    pump_queue();
}

}  // namespace tlsward::netproc
