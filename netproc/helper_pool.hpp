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

#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"

namespace tlsward::netproc {

struct HandshakeRequest {
    uint64_t conn_id = 0;
    int fd = -1;  // borrowed from the connection, which cancels before closing it
    ipc::HandshakeJob job;
    uint64_t enqueued_ms = 0;
};

class HelperPool {
public:
    struct Callbacks {
        // The handshake is done; the handoff is the connection's to consume.
        std::function<void(uint64_t conn_id, ipc::HandshakeDone&&)> done;
        std::function<void(uint64_t conn_id, const ipc::HandshakeFailed&)> failed;
    };

    HelperPool(uv_loop_t* loop, Callbacks cb);
    ~HelperPool();

    // A helper's channel (from the supervisor). Replaces any helper in the
    // same slot; that one's jobs fail at once.
    void add_helper(uint32_t slot, uint32_t generation, UniqueFd channel);
    // New jobs go only to helpers of this generation (older ones finish
    // what they have).
    void set_generation(uint32_t generation) { generation_ = generation; }
    void set_limits(size_t queue_limit, size_t max_jobs_per_helper);

    enum class Submit { sent, queued, refused };
    Submit submit(HandshakeRequest req);
    // The connection is going away: forget its job (queued or in flight).
    void cancel(uint64_t conn_id);

    size_t queue_depth() const { return queue_.size(); }
    size_t in_flight() const { return owner_.size(); }
    size_t helpers() const { return helpers_.size(); }
    size_t live_helpers(uint32_t generation) const;

private:
    struct Helper {
        uint32_t slot = 0;
        uint32_t generation = 0;
        std::unique_ptr<ipc::UvChannel> channel;
        size_t jobs = 0;
    };

    Helper* pick();
    bool send_to(Helper& h, HandshakeRequest& req);
    void on_message(uint32_t slot, ipc::Message&& m);
    void drop_helper(uint32_t slot, const std::string& why);
    void pump_queue();

    uv_loop_t* loop_;
    Callbacks cb_;
    uint32_t generation_ = 0;
    size_t queue_limit_ = 4096;
    size_t max_jobs_ = 256;
    std::map<uint32_t, Helper> helpers_;
    // conn id -> slot of the helper doing its handshake
    std::unordered_map<uint64_t, uint32_t> owner_;
    std::deque<HandshakeRequest> queue_;
    // Channels of dropped helpers, freed outside their own callbacks.
    std::vector<std::unique_ptr<ipc::UvChannel>> retired_;
    std::unique_ptr<UvCheck> reaper_;
};

}  // namespace tlsward::netproc
