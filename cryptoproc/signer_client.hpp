// The helper's end of its channel to the signer: the RemoteSigner the
// remote key provider submits to (cryptoproc/remote_key.hpp). Requests made
// during one turn of the loop go out together, in as few SG_SIGN messages
// as fit in a frame, when the turn's I/O is done (a uv_check); many are in
// flight at once, and answers come back per batch.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "cryptoproc/remote_key.hpp"
#include "ipc/sign_messages.hpp"
#include "ipc/uv_channel.hpp"

namespace tlsward::cryptoproc {

class SignerClient final : public RemoteSigner {
public:
    // on_failed: the channel ended (the signer died or cut us off); every
    // request out is answered with an error first.
    SignerClient(uv_loop_t* loop, UniqueFd channel, std::function<void(const Error&)> on_failed);
    ~SignerClient() override;
    SignerClient(const SignerClient&) = delete;
    SignerClient& operator=(const SignerClient&) = delete;

    uint64_t submit(uint64_t key_id, ipc::SignKind kind, uint16_t scheme,
                    std::span<const uint8_t> message, Done done) override;
    void cancel(uint64_t ticket) override;

    size_t in_flight() const { return pending_.size(); }
    uint64_t batches_sent() const { return batches_; }
    bool failed() const { return failed_; }

private:
    void flush();
    void on_message(ipc::Message&& msg);
    void fail(const Error& e);

    std::unique_ptr<ipc::UvChannel> channel_;
    std::function<void(const Error&)> on_failed_;
    UvCheck check_;
    std::vector<ipc::SignRequest> queue_;
    std::unordered_map<uint64_t, Done> pending_;  // queued or sent, by request id
    std::vector<std::pair<Done, Error>> deferred_failures_;
    uint64_t next_id_ = 1;
    uint64_t batches_ = 0;
    bool failed_ = false;
};

}  // namespace tlsward::cryptoproc
