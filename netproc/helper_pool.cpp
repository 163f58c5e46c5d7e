#include "netproc/helper_pool.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace tlsward::netproc {

// What a helper may send netproc: HANDSHAKE_DONE and HANDSHAKE_FAILED, each
// for a job this very helper has in flight (or had, before the connection
// went away). Anything else means the helper is broken or compromised.
const HelperPool::Accept HelperPool::kFromHelper[] = {
    {ipc::MsgType::hs_done, kAnswerable, &HelperPool::on_done},
    {ipc::MsgType::hs_failed, kAnswerable, &HelperPool::on_failed},
};

HelperPool::HelperPool(uv_loop_t* loop, Callbacks cb)
    : loop_(loop), cb_(std::move(cb)), retired_(loop) {}

HelperPool::~HelperPool() = default;

void HelperPool::set_limits(size_t queue_limit, size_t max_jobs_per_helper) {
    queue_limit_ = queue_limit;
    max_jobs_ = max_jobs_per_helper == 0 ? 1 : max_jobs_per_helper;
}

size_t HelperPool::live_helpers(uint32_t generation) const {
    size_t n = 0;
    for (const auto& [k, h] : helpers_)
        if (h.generation == generation && !h.channel->failed()) ++n;
    return n;
}

void HelperPool::add_helper(uint32_t slot, uint32_t generation, UniqueFd channel) {
    Key k = key(generation, slot);
    if (helpers_.count(k))
        drop_helper(k, Error{ErrorKind::internal, "replaced by a new helper in its slot"});
    Helper h;
    h.slot = slot;
    h.generation = generation;
    h.channel = std::make_unique<ipc::UvChannel>(
        loop_, std::move(channel), strfmt("crypto[%u]", slot),
        [this, k](ipc::Message&& m) { on_message(k, std::move(m)); },
        [this, k](const Error& e) {
            auto it = helpers_.find(k);
            bool broke = it != helpers_.end() && it->second.channel->peer_broke_protocol();
            if (broke)
                cut_off(k, e.message);
            else
                drop_helper(k, e);
        });
    helpers_[k] = std::move(h);
    LOG_INFO("event=helper_attached slot=%u generation=%u", slot, generation);
    pump_queue();
}

void HelperPool::set_generation(uint32_t generation) {
    generation_ = generation;
    pump_queue();
}

void HelperPool::check_retired() {
    if (retired_reported_ >= generation_ || !cb_.retired) return;
    for (const auto& [k, h] : helpers_)
        if (h.generation < generation_ && h.jobs > 0) return;
    retired_reported_ = generation_;
    cb_.retired(generation_);
}

void HelperPool::job_finished(Key k) {
    auto it = helpers_.find(k);
    if (it != helpers_.end() && it->second.jobs > 0) --it->second.jobs;
    if (it != helpers_.end() && it->second.generation < generation_) check_retired();
}

void HelperPool::fail_queued(const std::function<bool(const HandshakeRequest&)>& drop,
                             const ipc::HandshakeFailed& why) {
    std::vector<uint64_t> failed;
    for (auto q = queue_.begin(); q != queue_.end();) {
        if (drop(*q)) {
            failed.push_back(q->conn_id);
            q = queue_.erase(q);
        } else {
            ++q;
        }
    }
    for (uint64_t id : failed) cb_.failed(id, why);
}

HelperPool::Helper* HelperPool::pick() {
    Helper* best = nullptr;
    for (auto& [k, h] : helpers_) {
        if (h.generation != generation_ || h.jobs >= max_jobs_ || h.channel->failed()) continue;
        if (!best || h.jobs < best->jobs) best = &h;
    }
    return best;
}

bool HelperPool::send_to(Helper& h, HandshakeRequest& req) {
    auto body = ipc::encode_body(req.job);
    if (!h.channel->send(ipc::MsgType::hs_job, req.conn_id, body, req.fd)) return false;
    owner_[req.conn_id] = key(h.generation, h.slot);
    ++h.jobs;
    h.highest_job_sent = std::max(h.highest_job_sent, req.conn_id);
    uint64_t now = uv_hrtime();
    sent_ns_[req.conn_id] = now;
    if (metrics_ && req.submitted_ns != 0)
        metrics_->handshake_queue_wait.observe((now - req.submitted_ns) / 1000);
    return true;
}

HelperPool::Submit HelperPool::submit(HandshakeRequest req) {
    req.submitted_ns = uv_hrtime();
    if (queue_.empty()) {
        if (Helper* h = pick()) {
            if (send_to(*h, req)) return Submit::sent;
        }
    }
    if (queue_.size() >= queue_limit_) return Submit::refused;
    // Leave a helper at least a fifth of the deadline for the handshake itself.
    uint64_t wait = admission_.expected_wait_ms(queue_.size());
    if (wait > 0 && wait > req.job.deadline_ms * 4 / 5) {
        ++shed_;
        return Submit::shed;
    }
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
        // What waited too long would reach the helper with no time left:
        // fail it now rather than spend a helper on it.
        uint64_t waited = uv_now(loop_) - req.enqueued_ms;
        if (waited >= req.job.deadline_ms * 4 / 5) {
            ++shed_;
            ipc::HandshakeFailed f;
            f.reason = ipc::FailReason::overloaded;
            f.detail =
                strfmt("waited %llu ms for a helper", static_cast<unsigned long long>(waited));
            cb_.failed(req.conn_id, f);
            continue;
        }
        req.job.deadline_ms -= static_cast<uint32_t>(waited);
        if (!send_to(*h, req)) {
            // The channel failed while sending; drop_helper already ran.
            queue_.push_front(std::move(req));
        }
    }
}

void HelperPool::answered(uint64_t conn_id) {
    auto it = sent_ns_.find(conn_id);
    if (it == sent_ns_.end()) return;
    if (metrics_) metrics_->handshake_helper_time.observe((uv_hrtime() - it->second) / 1000);
    sent_ns_.erase(it);
}

void HelperPool::cancel(uint64_t conn_id) {
    sent_ns_.erase(conn_id);
    auto it = owner_.find(conn_id);
    if (it != owner_.end()) {
        Key k = it->second;
        owner_.erase(it);
        job_finished(k);
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

HelperPool::JobState HelperPool::job_state(Key k, uint64_t id) const {
    // Connection ids grow, so an answer for a higher id than any job sent
    // to this helper answers a job it was never given.
    if (auto h = helpers_.find(k); h != helpers_.end() && id > h->second.highest_job_sent)
        return JobState::never_given;
    auto owner = owner_.find(id);
    if (owner == owner_.end()) return JobState::cancelled;
    return owner->second == k ? JobState::in_flight : JobState::other_helper;
}

void HelperPool::on_message(Key k, ipc::Message&& m) {
    const Accept* accept = nullptr;
    for (const Accept& a : kFromHelper)
        if (a.type == m.type()) accept = &a;
    if (!accept)
        return cut_off(
            k, strfmt("message %s is not accepted from a helper", ipc::msg_type_name(m.type())));
    uint64_t id = m.request_id();
    JobState state = job_state(k, id);
    if (!(accept->job_states & static_cast<uint8_t>(state))) {
        if (state == JobState::never_given)
            return cut_off(
                k, strfmt("%s for job %llu, which this helper was never given",
                          ipc::msg_type_name(m.type()), static_cast<unsigned long long>(id)));
        return cut_off(k, strfmt("answer for job %llu of another helper",
                                 static_cast<unsigned long long>(id)));
    }
    if (Status s = (this->*accept->handler)(k, id, m); !s) return cut_off(k, s.message());
    if (state == JobState::in_flight) pump_queue();
}

void HelperPool::take_answer(uint64_t id) {
    owner_.erase(id);
    answered(id);
    admission_.completed(uv_now(loop_));
}

Status HelperPool::on_done(Key k, uint64_t id, ipc::Message& m) {
    auto done = ipc::decode_message<ipc::HandshakeDone>(m);
    if (!done) return done.error();
    if (done->conn_id != id)
        return err(ErrorKind::protocol, "HANDSHAKE_DONE for job %llu names connection %llu",
                   static_cast<unsigned long long>(id),
                   static_cast<unsigned long long>(done->conn_id));
    // A job cancelled meanwhile (its connection closed): nothing to deliver.
    if (job_state(k, id) != JobState::in_flight) return {};
    take_answer(id);
    cb_.done(id, std::move(done.value()));
    job_finished(k);
    return {};
}

Status HelperPool::on_failed(Key k, uint64_t id, ipc::Message& m) {
    auto failed = ipc::decode_message<ipc::HandshakeFailed>(m);
    if (!failed) return failed.error();
    if (job_state(k, id) != JobState::in_flight) return {};
    take_answer(id);
    cb_.failed(id, failed.value());
    job_finished(k);
    return {};
}

void HelperPool::cut_off(Key k, const std::string& why) {
    auto it = helpers_.find(k);
    if (it == helpers_.end()) return;
    uint32_t slot = it->second.slot;
    uint32_t generation = it->second.generation;
    drop_helper(k, Error{ErrorKind::protocol, why});
    // Only for what the helper sent: a send that fails because the helper
    // died (its replacement may already hold the slot) is no violation.
    if (cb_.violation) cb_.violation(slot, generation, why);
}

void HelperPool::drop_helper(Key k, const Error& why) {
    auto it = helpers_.find(k);
    if (it == helpers_.end()) return;
    Helper h = std::move(it->second);
    helpers_.erase(it);
    h.channel->close();
    retired_.defer(std::move(h.channel));

    std::vector<uint64_t> lost;
    for (auto o = owner_.begin(); o != owner_.end();) {
        if (o->second == k) {
            lost.push_back(o->first);
            sent_ns_.erase(o->first);
            o = owner_.erase(o);
        } else {
            ++o;
        }
    }
    bool current = h.generation == generation_;
    bool went_away = why.kind == ErrorKind::peer_closed;
    if (went_away && !current && lost.empty())
        // An older generation's helper leaving after its work (reload), or
        // a newer one's that never got work (a reload that was abandoned).
        LOG_INFO("event=helper_detached slot=%u generation=%u", h.slot, h.generation);
    else if (went_away)
        LOG_WARN("event=helper_lost slot=%u generation=%u handshakes_failed=%zu", h.slot,
                 h.generation, lost.size());
    else
        LOG_ERROR("event=helper_dropped slot=%u generation=%u reason=\"%s\" handshakes_failed=%zu",
                  h.slot, h.generation, why.message.c_str(), lost.size());
    ipc::HandshakeFailed f;
    f.reason = ipc::FailReason::io_error;
    f.detail = strfmt("crypto helper %u went away", h.slot);
    for (uint64_t id : lost) cb_.failed(id, f);
    if (!current) check_retired();
    pump_queue();
}

}  // namespace tlsward::netproc
