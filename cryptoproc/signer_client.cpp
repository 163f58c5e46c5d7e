#include "cryptoproc/signer_client.hpp"

#include "ipc/messages.hpp"

namespace tlsward::cryptoproc {

SignerClient::SignerClient(uv_loop_t* loop, UniqueFd channel,
                           std::function<void(const Error&)> on_failed)
    : on_failed_(std::move(on_failed)), check_(loop, [this] { flush(); }) {
    channel_ = std::make_unique<ipc::UvChannel>(
        loop, std::move(channel), "signer", [this](ipc::Message&& m) { on_message(std::move(m)); },
        [this](const Error& e) { fail(e); });
}

SignerClient::~SignerClient() = default;

uint64_t SignerClient::submit(uint64_t key_id, ipc::SignKind kind, uint16_t scheme,
                              std::span<const uint8_t> message, Done done) {
    uint64_t id = next_id_++;
    if (failed_) {
        // Answered on this turn's flush, never from inside submit().
        deferred_failures_.emplace_back(std::move(done),
                                        err(ErrorKind::io, "no channel to the signer"));
        return id;
    }
    queue_.push_back(ipc::SignRequest{id, key_id, kind, scheme, {message.begin(), message.end()}});
    pending_.emplace(id, std::move(done));
    return id;
}

void SignerClient::cancel(uint64_t ticket) {
    // A queued request still goes out (its id is spent); its answer is dropped.
    pending_.erase(ticket);
}

void SignerClient::flush() {
    auto failures = std::move(deferred_failures_);
    deferred_failures_.clear();
    for (auto& [done, e] : failures) {
        Result<std::vector<uint8_t>> r = e;
        done(std::move(r));
    }
    if (queue_.empty() || failed_) return;
    ipc::SignBatch batch;
    size_t size = 2;
    auto send = [&] {
        if (batch.requests.empty()) return;
        channel_->send(ipc::MsgType::sg_sign, 0, ipc::encode_body(batch));
        ++batches_;
        batch.requests.clear();
        size = 2;
    };
    for (ipc::SignRequest& q : queue_) {
        if (size + ipc::encoded_size(q) > ipc::kMaxBody) send();
        size += ipc::encoded_size(q);
        batch.requests.push_back(std::move(q));
    }
    send();
    queue_.clear();
}

void SignerClient::on_message(ipc::Message&& msg) {
    if (msg.type() != ipc::MsgType::sg_signatures) {
        fail(err(ErrorKind::protocol, "%s from the signer", ipc::msg_type_name(msg.type())));
        return;
    }
    auto answers = ipc::decode_body<ipc::SignAnswers>(msg.bytes());
    if (!answers) {
        fail(answers.error());
        return;
    }
    for (ipc::SignAnswer& a : answers->answers) {
        auto it = pending_.find(a.id);
        if (it == pending_.end()) {
            if (a.id >= next_id_) {
                fail(err(ErrorKind::protocol, "the signer answered request %llu, never sent",
                         static_cast<unsigned long long>(a.id)));
                return;
            }
            continue;  // cancelled meanwhile
        }
        Done done = std::move(it->second);
        pending_.erase(it);
        Result<std::vector<uint8_t>> r =
            a.status == ipc::SignStatus::ok
                ? Result<std::vector<uint8_t>>(std::move(a.signature))
                : Result<std::vector<uint8_t>>(err(ErrorKind::internal, "the signer answered %s",
                                                   ipc::sign_status_name(a.status)));
        done(std::move(r));
        if (failed_) return;
    }
}

void SignerClient::fail(const Error& e) {
    if (failed_) return;
    failed_ = true;
    channel_->close();
    queue_.clear();
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : pending) {
        Result<std::vector<uint8_t>> r = err(e.kind, "signer channel: %s", e.message.c_str());
        done(std::move(r));
    }
    if (on_failed_) on_failed_(e);
}

}  // namespace tlsward::cryptoproc
