// Who asked for reloads, and how they went. Reloads run one at a time (from
// SIGHUP or "tlsward reload"). One asked for while another runs is queued
// and starts right after it, reading the files as they are then; several
// asks meanwhile make one queued reload. Everyone who asked hears the
// outcome of the reload that served them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tlsward::supervisor {

class ReloadRequests {
public:
    // The outcome: the new generation serving (a summary for the asker), or
    // why nothing changed.
    using Done = std::function<void(const Status& outcome, const std::string& summary)>;

    // A reload from `source` ("SIGHUP", "control"); `done` may be empty.
    // true: none runs, this one starts now (at `now_ms`); false: it is
    // queued behind the running one.
    bool ask(const std::string& source, Done done, uint64_t now_ms);

    bool running() const { return running_; }
    const std::string& source() const { return source_; }
    uint64_t started_ms() const { return started_ms_; }

    // The running reload is done; its askers get the outcome.
    void succeeded(const std::string& summary);
    void failed(const Error& why);
    // The queued reload, if any, becomes the running one (true).
    bool start_queued(uint64_t now_ms);
    // Shutdown: whoever waits for the running or the queued reload gets
    // `why`, and nothing runs or is queued any more.
    void cancel(const Error& why);

    uint64_t succeeded_count() const { return succeeded_; }
    uint64_t failed_count() const { return failed_; }
    const std::string& last_error() const { return last_error_; }

private:
    void answer(const Status& outcome, const std::string& summary);

    bool running_ = false;
    std::string source_;
    uint64_t started_ms_ = 0;
    std::vector<Done> waiters_;
    bool queued_ = false;
    std::string queued_source_;
    std::vector<Done> queued_waiters_;
    uint64_t succeeded_ = 0;
    uint64_t failed_ = 0;
    std::string last_error_;
};

}  // namespace tlsward::supervisor
