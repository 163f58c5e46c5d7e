// The signer's life after start-up (docs/internals.md, "The signer"): its
// channel to the supervisor (keys, configuration, the helpers' channels,
// PING, SHUTDOWN) and one channel per helper, on which it accepts only
// SG_SIGN batches of requests of the exact shapes signer/sign_shape.hpp
// allows, under a per-helper rate cap. A helper that sends anything else
// is cut off: its channel closed, the reason logged with its id, and the
// supervisor told (SG_HELPER_CUT), which replaces it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/child_bootstrap.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "ipc/frame.hpp"
#include "ipc/uv_channel.hpp"
#include "signer/key_store.hpp"
#include "signer/rate_cap.hpp"

namespace tlsward::signer {

struct SignerCounters {
    uint64_t signatures = 0;
    uint64_t unknown_key = 0;  // answered unknown_key (a reload raced a handshake)
    uint64_t failed = 0;       // the signature operation itself failed
    uint64_t helpers_cut = 0;  // refusals: each cut a helper off
};

class Signer {
public:
    Signer(uv_loop_t* loop, const ChildArgs& args, UniqueFd control);
    ~Signer();
    Signer(const Signer&) = delete;
    Signer& operator=(const Signer&) = delete;

    int exit_code() const { return exit_code_; }
    const SignerCounters& counters() const { return counters_; }

private:
    struct HelperLink {
        uint32_t slot = 0;
        uint32_t generation = 0;
        std::string name;  // "crypto[slot] generation=G", for log lines
        std::unique_ptr<ipc::UvChannel> channel;
        RateCap cap;
        uint64_t last_request_id = 0;
    };

    void on_control(ipc::Message&& msg);
    Status on_key(ipc::Message& msg);
    Status on_forget_key(ipc::Message& msg);
    Status on_config(ipc::Message& msg);
    Status on_helper_channel(ipc::Message& msg);
    Status on_ping(ipc::Message& msg);

    void on_helper(uint64_t link, ipc::Message&& msg);
    // Answers a batch; an error is a refusal that cuts the helper off.
    Status sign_batch(HelperLink& h, const ipc::Message& msg, SecureBytes& answer);
    void cut(uint64_t link, const std::string& reason);
    void finish(int code);

    uv_loop_t* loop_;
    ChildArgs args_;
    std::unique_ptr<ipc::UvChannel> control_;
    KeyStore keys_;
    uint64_t rate_ = kDefaultRate;
    uint64_t burst_ = kDefaultBurst;
    bool configured_ = false;
    std::map<uint64_t, HelperLink> helpers_;
    uint64_t next_link_ = 1;
    // Channels are destroyed on a later loop turn, never in their own callback.
    std::vector<std::unique_ptr<ipc::UvChannel>> dead_;
    UvTimer reaper_;
    SignerCounters counters_;
    bool stopped_ = false;
    int exit_code_ = 0;
};

}  // namespace tlsward::signer
