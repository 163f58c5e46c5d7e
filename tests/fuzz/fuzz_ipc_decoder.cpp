// libFuzzer target: the IPC frame check and every typed body decoder, as a
// receiver sees them (bytes of one SEQPACKET message plus a count of
// attached fds, taken from the first input byte).
#include <cstddef>
#include <cstdint>
#include <span>

#include "ipc/frame.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"
#include "ipc/sign_messages.hpp"

using namespace tlsward::ipc;

namespace {

template <class T>
void try_decode(const Message& m) {
    auto r = decode_message<T>(m);
    (void)r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    size_t fds = data[0] % 6;
    std::span<const uint8_t> frame(data + 1, size - 1);
    auto h = decode_frame(frame, fds);
    if (!h) return 0;
    Message m;
    m.header = h.value();
    m.body.assign(frame.begin() + kHeaderSize, frame.end());
    switch (m.type()) {
        case MsgType::ready:
            try_decode<Ready>(m);
            break;
        case MsgType::pong:
            try_decode<Pong>(m);
            break;
        case MsgType::ping:
            try_decode<Ping>(m);
            break;
        case MsgType::shutdown:
            try_decode<Shutdown>(m);
            break;
        case MsgType::np_service:
            try_decode<NpService>(m);
            break;
        case MsgType::np_listener:
            try_decode<NpListener>(m);
            break;
        case MsgType::np_helper:
            try_decode<NpHelper>(m);
            break;
        case MsgType::np_config_done:
            try_decode<NpConfigDone>(m);
            break;
        case MsgType::cp_service:
            try_decode<CpService>(m);
            break;
        case MsgType::cp_certificate:
            try_decode<CpCertificate>(m);
            break;
        case MsgType::cp_config_done:
            try_decode<CpConfigDone>(m);
            break;
        case MsgType::cp_netproc_channel:
            try_decode<CpNetprocChannel>(m);
            break;
        case MsgType::cp_trust:
            try_decode<CpTrust>(m);
            break;
        case MsgType::cp_ticket_keys:
            try_decode<CpTicketKeys>(m);
            break;
        case MsgType::hs_job:
            try_decode<HandshakeJob>(m);
            break;
        case MsgType::sg_key:
            try_decode<SgKey>(m);
            break;
        case MsgType::sg_forget_key:
            try_decode<SgForgetKey>(m);
            break;
        case MsgType::sg_config:
            try_decode<SgConfig>(m);
            break;
        case MsgType::sg_helper_channel:
            try_decode<SgHelperChannel>(m);
            break;
        case MsgType::sg_helper_cut:
            try_decode<SgHelperCut>(m);
            break;
        case MsgType::sg_sign:
            try_decode<SignBatch>(m);
            break;
        case MsgType::sg_signatures:
            try_decode<SignAnswers>(m);
            break;
        case MsgType::hs_done:
            try_decode<HandshakeDone>(m);
            break;
        case MsgType::hs_failed:
            try_decode<HandshakeFailed>(m);
            break;
        case MsgType::np_status:
            try_decode<NpStatus>(m);
            break;
        case MsgType::np_retired:
            try_decode<NpRetired>(m);
            break;
        case MsgType::np_helper_failed:
            try_decode<NpHelperFailed>(m);
            break;
        case MsgType::np_metrics_listener:
            try_decode<NpMetricsListener>(m);
            break;
        case MsgType::np_supervisor_stats:
            try_decode<NpSupervisorStats>(m);
            break;
    }
    return 0;
}
