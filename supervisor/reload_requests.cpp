#include "supervisor/reload_requests.hpp"

#include <utility>

namespace tlsward::supervisor {

bool ReloadRequests::ask(const std::string& source, Done done, uint64_t now_ms) {
    if (running_) {
        queued_ = true;
        queued_source_ = source;
        if (done) queued_waiters_.push_back(std::move(done));
        return false;
    }
    running_ = true;
    source_ = source;
    started_ms_ = now_ms;
    if (done) waiters_.push_back(std::move(done));
    return true;
}

void ReloadRequests::succeeded(const std::string& summary) {
    running_ = false;
    ++succeeded_;
    answer(Status{}, summary);
}

void ReloadRequests::failed(const Error& why) {
    running_ = false;
    ++failed_;
    last_error_ = why.message;
    answer(why, "");
}

bool ReloadRequests::start_queued(uint64_t now_ms) {
    if (!queued_ || running_) return false;
    queued_ = false;
    running_ = true;
    source_ = queued_source_;
    started_ms_ = now_ms;
    waiters_ = std::move(queued_waiters_);
    queued_waiters_.clear();
    return true;
}

void ReloadRequests::cancel(const Error& why) {
    running_ = false;
    queued_ = false;
    for (auto& w : queued_waiters_) waiters_.push_back(std::move(w));
    queued_waiters_.clear();
    answer(why, "");
}

// An asker may ask again from its callback (a new waiter goes to the next
// reload, not this list).
void ReloadRequests::answer(const Status& outcome, const std::string& summary) {
    std::vector<Done> waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) w(outcome, summary);
}

}  // namespace tlsward::supervisor
