// The frame every IPC message travels in, on SOCK_SEQPACKET socketpairs:
//
//   u16 type | u16 flags (0) | u32 body length | u64 request id | body
//
// big-endian, at most kMaxMessage bytes in all, with zero or one fd
// attached (SCM_RIGHTS). The kernel keeps message boundaries, so one
// recvmsg is one message; anything that does not match this shape exactly
// is a protocol violation and the peer is treated as failed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "common/unique_fd.hpp"

namespace tlsward::ipc {

constexpr size_t kHeaderSize = 16;
constexpr size_t kMaxMessage = 64 * 1024;
constexpr size_t kMaxBody = kMaxMessage - kHeaderSize;
// Room in the receive control buffer: more than any message may carry, so
// that a peer sending too many fds is named as such (not as truncation).
constexpr size_t kMaxFdsReceived = 4;

enum class MsgType : uint16_t {
    // any child -> supervisor
    ready = 1,  // child is up and configured
    pong = 2,   // answer to ping (watchdog)
    // supervisor -> any child
    ping = 10,
    shutdown = 11,
    // supervisor -> netproc
    np_service = 20,           // one service's data-path settings
    np_listener = 21,          // a listening socket (fd)
    np_helper = 22,            // netproc's end of a helper channel (fd)
    np_config_done = 23,       // all of a generation has been sent
    np_metrics_listener = 24,  // the metrics endpoint's listening socket (fd)
    np_supervisor_stats = 25,  // the supervisor's counters, for the metrics endpoint
    // supervisor -> cryptoproc
    cp_service = 30,          // one service's TLS settings
    cp_certificate = 31,      // a certificate chain and its private key
    cp_config_done = 32,      // all of a generation has been sent
    cp_netproc_channel = 33,  // the helper's end of its netproc channel (fd)
    cp_trust = 34,            // CA certificates or CRLs of a service (DER)
    cp_ticket_keys = 35,      // session ticket master keys (any time)
    // netproc <-> cryptoproc
    hs_job = 40,     // netproc lends a socket for a handshake (fd)
    hs_done = 41,    // secrets and state for netproc's record layer
    hs_failed = 42,  // the handshake failed; why
    // netproc -> supervisor
    np_status = 50,         // live counts, the answer to PING (watchdog, status)
    np_retired = 51,        // older helper generations hold no job and get none
    np_helper_failed = 52,  // netproc cut a helper off for a protocol violation
    // the signer (ipc/sign_messages.hpp)
    sg_key = 60,             // supervisor -> signer: a private key under an opaque id
    sg_forget_key = 61,      // supervisor -> signer: a key no configuration uses any more
    sg_config = 62,          // supervisor -> signer: settings; every key has been sent
    sg_helper_channel = 63,  // supervisor -> signer: the signer's end of a helper's channel (fd)
    sg_helper_cut = 64,      // signer -> supervisor: a helper was cut off
    sg_sign = 65,            // helper -> signer: a batch of sign requests
    sg_signatures = 66,      // signer -> helper: the batch's answers
};

const char* msg_type_name(MsgType t);
// Known types only; anything else in a frame is a protocol violation.
bool msg_type_known(uint16_t t);
// How many fds a message of this type carries: exactly this many, no more.
size_t msg_type_fds(MsgType t);

struct Header {
    MsgType type{};
    uint16_t flags = 0;
    uint32_t body_length = 0;
    uint64_t request_id = 0;
};

void encode_header(const Header& h, uint8_t out[kHeaderSize]);

// Checks a received frame: header shape, known type, length field equal to
// what arrived, fd count as the type requires. Pure, so it is fuzzed.
Result<Header> decode_frame(std::span<const uint8_t> frame, size_t fds_attached);

// A received message. The body is wiped when its memory is freed, since
// some bodies carry keys or traffic secrets.
struct Message {
    Header header;
    SecureBytes body;
    std::vector<UniqueFd> fds;

    MsgType type() const { return header.type; }
    uint64_t request_id() const { return header.request_id; }
    std::span<const uint8_t> bytes() const { return body; }
    UniqueFd take_fd();
};

}  // namespace tlsward::ipc
