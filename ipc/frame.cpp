#include "ipc/frame.hpp"

#include "common/bytes.hpp"
#include "ipc/sign_messages.hpp"

namespace tlsward::ipc {

namespace {

// The name of a known type; nullptr for any other value (which is how
// msg_type_known tells them apart: on the type, not on a name's text).
const char* known_type_name(MsgType t) {
    switch (t) {
        case MsgType::ready:
            return "READY";
        case MsgType::pong:
            return "PONG";
        case MsgType::ping:
            return "PING";
        case MsgType::shutdown:
            return "SHUTDOWN";
        case MsgType::np_service:
            return "NP_SERVICE";
        case MsgType::np_listener:
            return "NP_LISTENER";
        case MsgType::np_helper:
            return "NP_HELPER";
        case MsgType::np_config_done:
            return "NP_CONFIG_DONE";
        case MsgType::np_metrics_listener:
            return "NP_METRICS_LISTENER";
        case MsgType::np_supervisor_stats:
            return "NP_SUPERVISOR_STATS";
        case MsgType::cp_service:
            return "CP_SERVICE";
        case MsgType::cp_certificate:
            return "CP_CERTIFICATE";
        case MsgType::cp_config_done:
            return "CP_CONFIG_DONE";
        case MsgType::cp_netproc_channel:
            return "CP_NETPROC_CHANNEL";
        case MsgType::cp_trust:
            return "CP_TRUST";
        case MsgType::cp_ticket_keys:
            return "CP_TICKET_KEYS";
        case MsgType::hs_job:
            return "HANDSHAKE";
        case MsgType::hs_done:
            return "HANDSHAKE_DONE";
        case MsgType::hs_failed:
            return "HANDSHAKE_FAILED";
        case MsgType::np_status:
            return "NP_STATUS";
        case MsgType::np_retired:
            return "NP_RETIRED";
        case MsgType::np_helper_failed:
            return "NP_HELPER_FAILED";
        default:
            break;
    }
    return sign_msg_type_name(t);  // nullptr when it is not a signer type either
}

}  // namespace

const char* msg_type_name(MsgType t) {
    const char* name = known_type_name(t);
    return name ? name : "UNKNOWN";
}

bool msg_type_known(uint16_t t) {
    return known_type_name(static_cast<MsgType>(t)) != nullptr;
}

size_t msg_type_fds(MsgType t) {
    switch (t) {
        case MsgType::np_listener:
        case MsgType::np_metrics_listener:
        case MsgType::np_helper:
        case MsgType::cp_netproc_channel:
        case MsgType::hs_job:
        case MsgType::sg_helper_channel:
            return 1;
        default:
            return 0;
    }
}

void encode_header(const Header& h, uint8_t out[kHeaderSize]) {
    SecureBytes v;
    v.reserve(kHeaderSize);
    ByteWriter w(v);
    w.u16(static_cast<uint16_t>(h.type));
    w.u16(h.flags);
    w.u32(h.body_length);
    w.u64(h.request_id);
    std::copy(v.begin(), v.end(), out);
}

Result<Header> decode_frame(std::span<const uint8_t> frame, size_t fds_attached) {
    if (frame.size() < kHeaderSize)
        return err(ErrorKind::protocol, "truncated header: %zu bytes, a header is %zu",
                   frame.size(), kHeaderSize);
    if (frame.size() > kMaxMessage)
        return err(ErrorKind::protocol, "message of %zu bytes exceeds the %zu-byte limit",
                   frame.size(), kMaxMessage);
    ByteReader r(frame);
    uint16_t type = 0;
    Header h;
    r.u16(type);
    r.u16(h.flags);
    r.u32(h.body_length);
    r.u64(h.request_id);
    if (!msg_type_known(type)) return err(ErrorKind::protocol, "unknown message type %u", type);
    h.type = static_cast<MsgType>(type);
    if (h.flags != 0)
        return err(ErrorKind::protocol, "%s: reserved flags 0x%04x are set", msg_type_name(h.type),
                   h.flags);
    if (h.body_length != frame.size() - kHeaderSize)
        return err(ErrorKind::protocol, "%s: length field says %u bytes, the message has %zu",
                   msg_type_name(h.type), h.body_length, frame.size() - kHeaderSize);
    size_t want = msg_type_fds(h.type);
    if (fds_attached != want)
        return err(ErrorKind::protocol, "%s: carries %zu fds, expects %zu", msg_type_name(h.type),
                   fds_attached, want);
    return h;
}

UniqueFd Message::take_fd() {
    if (fds.empty()) return UniqueFd();
    UniqueFd fd = std::move(fds.front());
    fds.erase(fds.begin());
    return fd;
}

}  // namespace tlsward::ipc
