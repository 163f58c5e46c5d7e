// Frames and fds across real SOCK_SEQPACKET socketpairs, malformed frames
// named precisely, and a channel driven by a libuv loop.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <optional>

#include "common/bytes.hpp"
#include "error_kind_printer.hpp"
#include "ipc/channel.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"

using namespace tlsward;
using namespace tlsward::ipc;

namespace {

std::vector<uint8_t> raw_frame(uint16_t type, uint16_t flags, uint32_t len_field, uint64_t id,
                               std::vector<uint8_t> body) {
    ByteWriter w;
    w.u16(type);
    w.u16(flags);
    w.u32(len_field);
    w.u64(id);
    w.bytes(body);
    return std::vector<uint8_t>(w.buffer().begin(), w.buffer().end());
}

void send_raw(int sock, const std::vector<uint8_t>& frame, std::vector<int> fds = {}) {
    iovec iov{const_cast<uint8_t*>(frame.data()), frame.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * (fds.empty() ? 1 : fds.size())));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    REQUIRE(sendmsg(sock, &msg, 0) == static_cast<ssize_t>(frame.size()));
}

// The message of recv_frame's error, which must be of kind `want` (a
// malformed frame is the peer's protocol violation unless said otherwise).
std::string recv_error(int sock, ErrorKind want = ErrorKind::protocol) {
    auto r = recv_frame(sock);
    REQUIRE_FALSE(r.ok());
    CHECK(r.kind() == want);
    return r.message();
}

}  // namespace

TEST_CASE("a frame with an fd crosses a socketpair; the fd works and is close-on-exec", "[ipc]") {
    auto pair = make_channel_pair();
    REQUIRE(pair.ok());
    auto& [a, b] = pair.value();
    int p[2];
    REQUIRE(pipe(p) == 0);
    UniqueFd pipe_r(p[0]);
    UniqueFd pipe_w(p[1]);

    auto body = encode_body(NpHelper{1, 2}).value();
    REQUIRE(send_frame(a.get(), MsgType::np_helper, 42, body, pipe_w.get()).value() ==
            SendOutcome::sent);
    pipe_w.reset();  // only the copy in flight keeps the write end open

    auto got = recv_frame(b.get());
    REQUIRE(got.ok());
    REQUIRE(got.value().has_value());
    Message m = std::move(*got.value());
    CHECK(m.type() == MsgType::np_helper);
    CHECK(m.request_id() == 42);
    REQUIRE(m.fds.size() == 1);
    CHECK((fcntl(m.fds[0].get(), F_GETFD) & FD_CLOEXEC) != 0);
    REQUIRE(write(m.fds[0].get(), "ping", 4) == 4);
    char buf[8] = {};
    REQUIRE(read(pipe_r.get(), buf, sizeof buf) == 4);
    CHECK(std::string(buf, 4) == "ping");
    auto h = decode_message<NpHelper>(m);
    REQUIRE(h.ok());
    CHECK(h->generation == 2);
}

TEST_CASE("malformed frames are refused, each with its own error", "[ipc]") {
    auto pair = make_channel_pair();
    REQUIRE(pair.ok());
    auto& [a, b] = pair.value();
    int p[2];
    REQUIRE(pipe(p) == 0);
    UniqueFd r0(p[0]);
    UniqueFd r1(p[1]);

    SECTION("unknown type") {
        send_raw(a.get(), raw_frame(999, 0, 0, 1, {}));
        CHECK(recv_error(b.get()) == "unknown message type 999");
    }
    SECTION("reserved flags") {
        send_raw(a.get(),
                 raw_frame(static_cast<uint16_t>(MsgType::ping), 1, 8, 1, std::vector<uint8_t>(8)));
        CHECK(recv_error(b.get()) == "PING: reserved flags 0x0001 are set");
    }
    SECTION("length field disagrees with the message") {
        send_raw(a.get(),
                 raw_frame(static_cast<uint16_t>(MsgType::ping), 0, 9, 1, std::vector<uint8_t>(8)));
        CHECK(recv_error(b.get()) == "PING: length field says 9 bytes, the message has 8");
    }
    SECTION("truncated header") {
        send_raw(a.get(), std::vector<uint8_t>(7, 0));
        CHECK(recv_error(b.get()) == "truncated header: 7 bytes, a header is 16");
    }
    SECTION("oversized message") {
        std::vector<uint8_t> big(kMaxMessage + 100, 0);
        int sz = 4 * 1024 * 1024;
        setsockopt(a.get(), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        send_raw(a.get(), big);
        CHECK(recv_error(b.get()) == "message larger than the 65536-byte limit (truncated)");
    }
    SECTION("fd attached where none is expected") {
        send_raw(a.get(),
                 raw_frame(static_cast<uint16_t>(MsgType::ping), 0, 8, 1, std::vector<uint8_t>(8)),
                 {r1.get()});
        CHECK(recv_error(b.get()) == "PING: carries 1 fds, expects 0");
    }
    SECTION("fd missing where one is expected") {
        send_raw(a.get(), raw_frame(static_cast<uint16_t>(MsgType::np_helper), 0, 8, 1,
                                    std::vector<uint8_t>(8)));
        CHECK(recv_error(b.get()) == "NP_HELPER: carries 0 fds, expects 1");
    }
    SECTION("more fds than allowed") {
        send_raw(
            a.get(),
            raw_frame(static_cast<uint16_t>(MsgType::np_helper), 0, 8, 1, std::vector<uint8_t>(8)),
            {r0.get(), r1.get()});
        CHECK(recv_error(b.get()) == "NP_HELPER: carries 2 fds, expects 1");
    }
    SECTION("so many fds the control buffer is cut short") {
        std::vector<int> many(kMaxFdsReceived + 3, r1.get());
        send_raw(
            a.get(),
            raw_frame(static_cast<uint16_t>(MsgType::np_helper), 0, 8, 1, std::vector<uint8_t>(8)),
            many);
        CHECK(recv_error(b.get()) == "control data truncated: more than 4 fds attached");
    }
    SECTION("peer closed") {
        a.reset();
        CHECK(recv_error(b.get(), ErrorKind::peer_closed) == kPeerClosed);
    }
}

TEST_CASE("sending to a peer that has gone is 'peer closed', not a protocol error", "[ipc]") {
    // A supervisor's SHUTDOWN racing a retiring helper's exit got EPIPE and
    // was logged as a protocol violation (test_systemd_notify, once).
    auto pair = make_channel_pair();
    REQUIRE(pair.ok());
    pair.value().second.reset();
    auto r = send_frame(pair.value().first.get(), MsgType::shutdown, 1, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.kind() == ErrorKind::peer_closed);
}

TEST_CASE("nothing to read is not an error", "[ipc]") {
    auto pair = make_channel_pair();
    REQUIRE(pair.ok());
    auto r = recv_frame(pair.value().second.get());
    REQUIRE(r.ok());
    CHECK_FALSE(r.value().has_value());
}

TEST_CASE("a channel under a libuv loop delivers in order, queues when full, and fails on EOF",
          "[ipc]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = make_channel_pair();
        REQUIRE(pair.ok());
        auto& [a, b] = pair.value();
        int small = 4096;
        setsockopt(a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);

        std::vector<uint64_t> seen;
        std::string failure;
        UvChannel sender(
            &loop, std::move(a), "test-sender", [](Message&&) {}, [](const Error&) {});
        UvChannel receiver(
            &loop, std::move(b), "test-receiver",
            [&](Message&& m) {
                auto p = decode_message<Ping>(m);
                REQUIRE(p.ok());
                seen.push_back(p->seq);
            },
            [&](const Error& e) { failure = e.message; });

        // Far more than the socket buffer holds: the rest must queue.
        constexpr uint64_t kCount = 2000;
        for (uint64_t i = 0; i < kCount; ++i)
            REQUIRE(sender.send(MsgType::ping, i, encode_body(Ping{i})));
        CHECK(sender.queued() > 0);
        while (seen.size() < kCount) uv_run(&loop, UV_RUN_ONCE);
        for (uint64_t i = 0; i < kCount; ++i) REQUIRE(seen[i] == i);
        CHECK(sender.queued() == 0);

        CHECK(failure.empty());
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("a uv channel reports the peer's EOF once", "[ipc]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = make_channel_pair();
        REQUIRE(pair.ok());
        auto& [a, b] = pair.value();
        int failures = 0;
        std::optional<ErrorKind> why;
        UvChannel receiver(
            &loop, std::move(b), "test", [](Message&&) {},
            [&](const Error& e) {
                ++failures;
                why = e.kind;
            });
        a.reset();
        for (int i = 0; i < 10 && failures == 0; ++i) uv_run(&loop, UV_RUN_ONCE);
        CHECK(failures == 1);
        CHECK(why == ErrorKind::peer_closed);
        CHECK(receiver.failed());
        CHECK_FALSE(receiver.peer_broke_protocol());  // an exit is no violation
        CHECK_FALSE(receiver.send(MsgType::ping, 1, encode_body(Ping{1})));
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("a uv channel tells a refused frame from the peer's exit", "[ipc]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        auto pair = make_channel_pair();
        REQUIRE(pair.ok());
        auto& [a, b] = pair.value();
        std::string why;
        UvChannel receiver(
            &loop, std::move(b), "test", [](Message&&) {},
            [&](const Error& e) { why = e.message; });
        // A length field beyond what arrives, as a broken helper might send.
        send_raw(a.get(), raw_frame(static_cast<uint16_t>(MsgType::hs_done), 0, 60000, 7, {1, 2}));
        for (int i = 0; i < 10 && why.empty(); ++i) uv_run(&loop, UV_RUN_ONCE);
        CHECK(why.find("length field says 60000") != std::string::npos);
        CHECK(receiver.peer_broke_protocol());
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}
