#include "signer/signer.hpp"

#include <sys/socket.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "ipc/messages.hpp"
#include "ipc/sign_messages.hpp"
#include "signer/sign_shape.hpp"

namespace tlsward::signer {

namespace {

using ipc::MsgType;

Status check_channel_fd(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
        return err(ErrorKind::protocol, "the helper channel is not a SOCK_SEQPACKET socket");
    return {};
}

}  // namespace

Signer::Signer(uv_loop_t* loop, const ChildArgs& args, UniqueFd control)
    : loop_(loop), args_(args), reaper_(loop, [this] { dead_.clear(); }) {
    control_ = std::make_unique<ipc::UvChannel>(
        loop, std::move(control), "supervisor",
        [this](ipc::Message&& m) { on_control(std::move(m)); },
        [this](const Error& e) {
            // The supervisor is gone or broke the protocol: nothing to sign for.
            if (e.kind == ErrorKind::peer_closed)
                LOG_INFO("event=exit reason=\"supervisor closed the channel\"");
            else
                LOG_ERROR("event=exit reason=\"control channel: %s\"", e.message.c_str());
            finish(e.kind == ErrorKind::peer_closed ? 0 : 1);
        });
}

Signer::~Signer() {
    helpers_.clear();
    dead_.clear();
}

// ---------------------------------------------------------------------------
// What the supervisor may send; anything else ends the process (exit 1,
// the supervisor restarts it).

void Signer::on_control(ipc::Message&& msg) {
    Status s;
    switch (msg.type()) {
        case MsgType::sg_key:
            s = on_key(msg);
            break;
        case MsgType::sg_forget_key:
            s = on_forget_key(msg);
            break;
        case MsgType::sg_config:
            s = on_config(msg);
            break;
        case MsgType::sg_helper_channel:
            s = on_helper_channel(msg);
            break;
        case MsgType::ping:
            s = on_ping(msg);
            break;
        case MsgType::shutdown:
            LOG_INFO("event=exit reason=\"shutdown\" signatures=%llu",
                     static_cast<unsigned long long>(counters_.signatures));
            finish(0);
            return;
        default:
            s = err(ErrorKind::protocol, "%s is not a message for the signer",
                    ipc::msg_type_name(msg.type()));
    }
    if (!s) {
        LOG_ERROR("event=exit reason=\"from the supervisor: %s: %s\"",
                  ipc::msg_type_name(msg.type()), s.message().c_str());
        finish(1);
    }
}

Status Signer::on_key(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::SgKey>(msg);
    if (!m) return m.error();
    if (auto s = keys_.add(m->key_id, m->kinds, m->key); !s) return s;
    LOG_DEBUG("event=key_loaded key=%llu keys=%zu", static_cast<unsigned long long>(m->key_id),
              keys_.size());
    return {};
}

Status Signer::on_forget_key(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::SgForgetKey>(msg);
    if (!m) return m.error();
    keys_.forget(m->key_id);
    return {};
}

Status Signer::on_config(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::SgConfig>(msg);
    if (!m) return m.error();
    rate_ = m->rate;
    burst_ = m->burst;
    configured_ = true;
    // Links made from now on get the new cap; those running keep theirs.
    LOG_INFO("event=configured generation=%u keys=%zu rate=%llu burst=%llu", m->generation,
             keys_.size(), static_cast<unsigned long long>(rate_),
             static_cast<unsigned long long>(burst_));
    ipc::Ready ready{ipc::ProcessRole::signer, m->generation, args_.slot};
    control_->send(MsgType::ready, 0, ipc::encode_body(ready));
    return {};
}

Status Signer::on_helper_channel(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::SgHelperChannel>(msg);
    if (!m) return m.error();
    UniqueFd fd = msg.take_fd();
    if (auto s = check_channel_fd(fd.get()); !s) return s;
    uint64_t id = next_link_++;
    HelperLink link{m->slot, m->generation,
                    strfmt("crypto[%u] generation=%u", m->slot, m->generation), nullptr,
                    RateCap(rate_, burst_, uv_now(loop_))};
    link.channel = std::make_unique<ipc::UvChannel>(
        loop_, std::move(fd), link.name,
        [this, id](ipc::Message&& h) { on_helper(id, std::move(h)); },
        [this, id](const Error& e) {
            // A helper that exits closes its channel: not a refusal.
            auto it = helpers_.find(id);
            if (it == helpers_.end()) return;
            if (e.kind == ErrorKind::protocol) {
                cut(id, e.message);
                return;
            }
            LOG_DEBUG("event=helper_gone helper=\"%s\" reason=\"%s\"", it->second.name.c_str(),
                      e.message.c_str());
            dead_.push_back(std::move(it->second.channel));
            helpers_.erase(it);
            if (!reaper_.active()) reaper_.start(0);
        });
    helpers_.emplace(id, std::move(link));
    return {};
}

Status Signer::on_ping(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::Ping>(msg);
    if (!m) return m.error();
    ipc::Pong pong;
    pong.seq = m->seq;
    // Until the supervisor learns the signer's own status: signatures and
    // refusals in the handshake fields.
    pong.handshakes_ok = counters_.signatures;
    pong.handshakes_failed = counters_.helpers_cut;
    control_->send(MsgType::pong, 0, ipc::encode_body(pong));
    return {};
}

// ---------------------------------------------------------------------------
// A helper's channel: SG_SIGN and nothing else.

void Signer::on_helper(uint64_t link, ipc::Message&& msg) {
    auto it = helpers_.find(link);
    if (it == helpers_.end()) return;
    SecureBytes answer;
    if (auto s = sign_batch(it->second, msg, answer); !s) {
        cut(link, s.message());
        return;
    }
    it->second.channel->send(MsgType::sg_signatures, msg.request_id(),
                             std::span<const uint8_t>(answer.data(), answer.size()));
}

Status Signer::sign_batch(HelperLink& h, const ipc::Message& msg, SecureBytes& out) {
    if (msg.type() != MsgType::sg_sign)
        return err(ErrorKind::protocol, "%s is not a message for the signer",
                   ipc::msg_type_name(msg.type()));
    auto batch = ipc::decode_body<ipc::SignBatch>(msg.bytes());
    if (!batch) return batch.error();
    if (!h.cap.take(uv_now(loop_), batch->requests.size()))
        return err(ErrorKind::protocol, "over the rate cap (%llu signatures/s, burst %llu)",
                   static_cast<unsigned long long>(h.cap.rate()),
                   static_cast<unsigned long long>(h.cap.burst()));
    ipc::SignAnswers answers;
    answers.answers.reserve(batch->requests.size());
    for (const ipc::SignRequest& q : batch->requests) {
        if (q.id <= h.last_request_id)
            return err(ErrorKind::protocol, "request id %llu after %llu (ids only grow)",
                       static_cast<unsigned long long>(q.id),
                       static_cast<unsigned long long>(h.last_request_id));
        h.last_request_id = q.id;
        ipc::SignAnswer a;
        a.id = q.id;
        const HeldKey* key = keys_.find(q.key_id);
        if (!key) {
            // Not a refusal: a reload may have retired the key while the
            // helper's handshake was under way.
            a.status = ipc::SignStatus::unknown_key;
            ++counters_.unknown_key;
            answers.answers.push_back(std::move(a));
            continue;
        }
        if (auto s = check_sign_request(q, key->alg, key->kinds); !s)
            return context(
                strfmt("request %llu (key %llu, %s)", static_cast<unsigned long long>(q.id),
                       static_cast<unsigned long long>(q.key_id), ipc::sign_kind_name(q.kind)),
                s.error());
        auto sig = keys_.sign(q.key_id, *ipc::find_scheme(q.scheme), q.message);
        if (sig) {
            a.signature = std::move(*sig);
            ++counters_.signatures;
        } else {
            LOG_ERROR("event=sign_failed helper=\"%s\" key=%llu reason=\"%s\"", h.name.c_str(),
                      static_cast<unsigned long long>(q.key_id), sig.message().c_str());
            a.status = ipc::SignStatus::failed;
            ++counters_.failed;
        }
        answers.answers.push_back(std::move(a));
    }
    auto encoded = ipc::encode_body(answers);
    if (!encoded) return encoded.error();
    out = std::move(encoded.value());
    return {};
}

void Signer::cut(uint64_t link, const std::string& reason) {
    auto it = helpers_.find(link);
    if (it == helpers_.end()) return;
    HelperLink& h = it->second;
    ++counters_.helpers_cut;
    LOG_WARN("event=sign_refused helper=\"%s\" reason=\"%s\" action=cut", h.name.c_str(),
             reason.c_str());
    ipc::SgHelperCut m{h.slot, h.generation, reason};
    control_->send(MsgType::sg_helper_cut, 0, ipc::encode_body(m));
    h.channel->close();
    dead_.push_back(std::move(h.channel));
    helpers_.erase(it);
    if (!reaper_.active()) reaper_.start(0);
}

void Signer::finish(int code) {
    if (stopped_) return;
    stopped_ = true;
    exit_code_ = code;
    for (auto& [id, h] : helpers_) dead_.push_back(std::move(h.channel));
    helpers_.clear();
    uv_stop(loop_);
}

}  // namespace tlsward::signer
