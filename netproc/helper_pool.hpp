// The crypto helpers as netproc sees them: one channel per helper, the jobs
// each has in flight, and a bounded queue of handshakes waiting for a free
// helper. netproc never waits on a helper: a job is sent (or queued, or
// refused when the queue is full) and the answer arrives as a message.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/deferred_delete.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"
#include "netproc/admission.hpp"
#include "netproc/metrics_registry.hpp"

namespace tlsward::netproc {

struct HandshakeRequest {
    uint64_t conn_id = 0;
    int fd = -1;  // borrowed from the connection, which cancels before closing it
    ipc::HandshakeJob job;
    uint64_t enqueued_ms = 0;
    uint64_t submitted_ns = 0;  // uv_hrtime() at submit, for the queue-wait histogram
};

class HelperPool {
public:
    struct Callbacks {
        // The handshake is done; the handoff is the connection's to consume.
        std::function<void(uint64_t conn_id, ipc::HandshakeDone&&)> done;
        std::function<void(uint64_t conn_id, const ipc::HandshakeFailed&)> failed;
        // Every helper older than `generation` has no job left (and gets
        // none): they may be let go. Called once per generation switch.
        std::function<void(uint32_t generation)> retired;
        // A helper broke the protocol and was cut off; the supervisor is to
        // kill and replace it (a cut-off helper would otherwise sit idle).
        std::function<void(uint32_t slot, uint32_t generation, const std::string& why)> violation;
    };

    HelperPool(uv_loop_t* loop, Callbacks cb);
    ~HelperPool();

    // A helper's channel (from the supervisor). Replaces any helper in the
    // same slot of the same generation; that one's jobs fail at once.
    void add_helper(uint32_t slot, uint32_t generation, UniqueFd channel);
    // New jobs go only to helpers of this generation; older ones finish
    // what they have, and `retired` is called once none has a job left.
    void set_generation(uint32_t generation);
    // Calls `retired` if the older generations have nothing left.
    void check_retired();
    // Fails every queued (not yet sent) handshake for which `drop` is true.
    void fail_queued(const std::function<bool(const HandshakeRequest&)>& drop,
                     const ipc::HandshakeFailed& why);
    void set_limits(size_t queue_limit, size_t max_jobs_per_helper);
    // Where queue wait and helper time go (may stay unset: not recorded).
    void set_metrics(MetricsRegistry* metrics) { metrics_ = metrics; }

    // refused: the queue is full; shed: the queue has room but, at the rate
    // helpers finish handshakes, this one could not start before its deadline.
    enum class Submit { sent, queued, refused, shed };
    Submit submit(HandshakeRequest req);
    // The connection is going away: forget its job (queued or in flight).
    void cancel(uint64_t conn_id);

    size_t queue_depth() const { return queue_.size(); }
    uint64_t shed_total() const { return shed_; }
    double handshake_rate() const { return admission_.rate(); }
    size_t in_flight() const { return owner_.size(); }
    size_t helpers() const { return helpers_.size(); }
    uint32_t generation() const { return generation_; }
    size_t live_helpers(uint32_t generation) const;

private:
    struct Helper {
        uint32_t slot = 0;
        uint32_t generation = 0;
        std::unique_ptr<ipc::UvChannel> channel;
        size_t jobs = 0;
        // Connection ids grow, so an answer for a higher id than any job
        // sent to this helper answers a job it was never given.
        uint64_t highest_job_sent = 0;
    };

    // Helpers are known by generation and slot: during a reload two
    // generations run side by side.
    using Key = uint64_t;
    static Key key(uint32_t generation, uint32_t slot) {
        return (static_cast<uint64_t>(generation) << 32) | slot;
    }

    // The job an answer names, as seen from the helper that sent it.
    enum class JobState : uint8_t {
        in_flight = 1,     // this helper holds it
        cancelled = 2,     // it did, but the connection went away meanwhile
        other_helper = 4,  // another helper holds it
        never_given = 8,   // this helper was never given it
    };
    // What a helper may send netproc and for jobs in which states (a mask
    // of JobState bits), like Supervisor::kFromHelper. A type not listed,
    // an answer for a job in a state not listed, or a handler's error is a
    // protocol violation: the helper is cut off. An answer for a cancelled
    // job is checked, then dropped.
    static constexpr uint8_t kAnswerable =
        static_cast<uint8_t>(JobState::in_flight) | static_cast<uint8_t>(JobState::cancelled);
    using Handler = Status (HelperPool::*)(Key, uint64_t conn_id, ipc::Message&);
    struct Accept {
        ipc::MsgType type;
        uint8_t job_states;
        Handler handler;
    };
    static const Accept kFromHelper[];

    Helper* pick();
    bool send_to(Helper& h, HandshakeRequest& req);
    void job_finished(Key key);
    // The helper answered job `conn_id`: its time goes to the histogram.
    void answered(uint64_t conn_id);
    JobState job_state(Key key, uint64_t conn_id) const;
    void on_message(Key key, ipc::Message&& m);
    // helper -> netproc: the answer is checked; a job in flight ends.
    Status on_done(Key key, uint64_t conn_id, ipc::Message& m);
    Status on_failed(Key key, uint64_t conn_id, ipc::Message& m);
    // The job is answered: it leaves the helper (the caller delivers it).
    void take_answer(uint64_t conn_id);
    // The helper's channel ends; its jobs fail. why.kind peer_closed: it
    // went away (exit, crash), else netproc dropped it.
    void drop_helper(Key key, const Error& why);
    // drop_helper for a protocol violation: the supervisor is told to kill it.
    void cut_off(Key key, const std::string& why);
    void pump_queue();

    uv_loop_t* loop_;
    Callbacks cb_;
    uint32_t generation_ = 0;
    size_t queue_limit_ = 4096;
    size_t max_jobs_ = 256;
    uint32_t retired_reported_ = 0;  // the last generation `retired` was called for
    std::map<Key, Helper> helpers_;
    // conn id -> the helper doing its handshake
    std::unordered_map<uint64_t, Key> owner_;
    // conn id -> uv_hrtime() when its job went to the helper
    std::unordered_map<uint64_t, uint64_t> sent_ns_;
    MetricsRegistry* metrics_ = nullptr;
    std::deque<HandshakeRequest> queue_;
    HandshakeAdmission admission_;
    uint64_t shed_ = 0;
    // Channels of dropped helpers, freed outside their own callbacks.
    DeferredDelete<ipc::UvChannel> retired_;
};

}  // namespace tlsward::netproc
