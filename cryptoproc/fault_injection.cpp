#include "cryptoproc/fault_injection.hpp"

#if defined(TLSWARD_FAULT_INJECTION)

#include <sys/socket.h>

#include <array>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/log.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"

namespace tlsward::cryptoproc {

namespace {

constexpr std::string_view kPrefix = "fault-";
constexpr std::string_view kSuffix = ".invalid";

// Writes one raw frame straight to the channel's socket (bypassing the
// codec, which would not write a broken frame), with `fds` copies of the
// channel's own fd attached.
void send_raw(int sock, SecureBytes frame, int fds) {
    msghdr msg{};
    iovec iov{frame.data(), frame.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::array<char, CMSG_SPACE(sizeof(int) * 3)> control{};
    if (fds > 0) {
        msg.msg_control = control.data();
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<size_t>(fds));
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<size_t>(fds));
        for (int i = 0; i < fds; ++i)
            std::memcpy(CMSG_DATA(c) + sizeof(int) * static_cast<size_t>(i), &sock, sizeof(int));
    }
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        LOG_WARN("event=fault_injection reason=\"sendmsg: %s\"", std::strerror(errno));
}

SecureBytes frame(ipc::MsgType type, uint64_t id, std::span<const uint8_t> body,
                  uint32_t length_field) {
    ipc::Header h;
    h.type = type;
    h.body_length = length_field;
    h.request_id = id;
    SecureBytes f(ipc::kHeaderSize);
    ipc::encode_header(h, f.data());
    f.insert(f.end(), body.begin(), body.end());
    return f;
}

// Memory nothing points to once this returns: a leak for LeakSanitizer to
// find (the proof, in test_leak_check, that its at-exit check runs).
__attribute__((noinline)) void leak_on_purpose() {
    auto* p = new char[4096];
    std::memset(p, 0x5a, 4096);
    asm volatile("" : : "r"(p) : "memory");
}  // NOLINT(clang-analyzer-cplusplus.NewDeleteLeaks): the leak is the point

}  // namespace

bool misbehave(ipc::UvChannel& netproc, uint64_t job_id, const ipc::HandshakeDone& done) {
    std::string_view sni = done.sni;
    if (!sni.starts_with(kPrefix) || !sni.ends_with(kSuffix)) return false;
    std::string_view mode =
        sni.substr(kPrefix.size(), sni.size() - kPrefix.size() - kSuffix.size());
    if (mode == "leak") {
        leak_on_purpose();
        return false;  // and answer normally
    }
    auto encoded = ipc::encode_body(done);
    if (!encoded) return false;  // answered normally, which reports it
    const SecureBytes& body = encoded.value();
    auto len = static_cast<uint32_t>(body.size());
    LOG_WARN("event=fault_injection job=%llu mode=%.*s", static_cast<unsigned long long>(job_id),
             static_cast<int>(mode.size()), mode.data());
    if (mode == "malformed") {
        netproc.send(ipc::MsgType::hs_done, job_id, std::span(body).first(10));
    } else if (mode == "wrong-job") {
        // Consistent in itself (body and frame name the same job), but a
        // job this helper was never given.
        auto other = ipc::decode_body<ipc::HandshakeDone>(body);
        if (!other) return false;
        other->conn_id = job_id + (1ULL << 40);
        auto wrong = ipc::encode_body(other.value());
        netproc.send(ipc::MsgType::hs_done, other->conn_id, wrong);
    } else if (mode == "length") {
        send_raw(netproc.fd(),
                 frame(ipc::MsgType::hs_done, job_id, std::span(body).first(20), 60000), 0);
    } else if (mode == "fds") {
        send_raw(netproc.fd(), frame(ipc::MsgType::hs_done, job_id, body, len), 3);
    } else if (mode == "type") {
        netproc.send(ipc::MsgType::np_status, job_id, std::span<const uint8_t>(body));
    } else {
        return false;
    }
    return true;
}

}  // namespace tlsward::cryptoproc

#endif  // TLSWARD_FAULT_INJECTION
