// A record pump (netproc/record_pump.hpp) between two AF_UNIX socketpairs,
// for test_record_pump.cpp and test_key_rotation.cpp: one pair stands in
// for the TLS socket (the test plays the TLS peer with a record layer of
// its own, made from the same known test keys), the other for the plain
// socket (the test plays the target). drive() runs the pump the way
// netproc's loop does: poll for what it asks, tell it what is ready,
// until nothing more moves. No helper, loop or timer is involved.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <optional>

#include "common/unique_fd.hpp"
#include "netproc/record_pump.hpp"
#include "record_layer_test_util.hpp"

namespace tlsward::rltest {

// A socketpair's ends: ours (the pump's) and theirs (the test's).
struct Pair {
    UniqueFd ours;
    UniqueFd theirs;
};

inline Pair socket_pair(int sndbuf = 0) {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    Pair p{UniqueFd(sv[0]), UniqueFd(sv[1])};
    if (sndbuf != 0) {
        // Small socket buffers make "the peer does not read" quick to reach.
        for (int fd : sv)
            REQUIRE(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
    }
    return p;
}

// Bytes waiting to be read on a socket.
inline size_t queued(int fd) {
    Bytes b(1 << 20);
    ssize_t n = recv(fd, b.data(), b.size(), MSG_PEEK | MSG_DONTWAIT);
    return n > 0 ? static_cast<size_t>(n) : 0;
}

// What the TLS peer has received so far, opened.
struct PeerReceived {
    Bytes plain;
    netproc::RecordLayer::ReadOutcome outcome = netproc::RecordLayer::ReadOutcome::more;
    netproc::Alert alert = netproc::Alert::close_notify;
    bool from_peer = false;
    bool eof = false;      // the socket reached EOF (the pump shut its side)
    size_t after_end = 0;  // bytes that arrived after close_notify or a fatal alert
};

struct PumpRig {
    static constexpr size_t kPumpBlock = 32 * 1024;

    netproc::BufferPool pool{kPumpBlock, 16};
    ipc::LinkSettings link;
    netproc::ServiceCounters counters;
    Pair tls;
    Pair plain;
    ipc::HandshakeDone handoff;
    std::optional<netproc::RecordPump> pump;
    uint64_t now = 1000000;

    // The TLS peer: its record layer, buffers, and bytes it has sealed but
    // not yet written to its socket.
    std::unique_ptr<netproc::RecordLayer> peer;
    Side side;
    Bytes peer_pending;

    explicit PumpRig(uint16_t suite = 0x1301, uint64_t client_seq = 0, uint64_t server_seq = 0,
                     int sndbuf = 0)
        : tls(socket_pair(sndbuf)),
          plain(socket_pair(sndbuf)),
          handoff(fixed_handoff(suite, client_seq, server_seq)) {}

    // The pump is the server (the TLS peer is the client); start: the plain
    // side is connected.
    void make(bool start = true) {
        netproc::RecordPump::Context ctx;
        ctx.buffers = &pool;
        ctx.link = &link;
        ctx.counters = &counters;
        pump.emplace(ctx, tls.ours.get(), make_layer(handoff, true), now);
        peer = make_layer(handoff, false);
        if (start) pump->start(plain.ours.get(), now);
    }

    // Runs the pump until nothing it waits for is ready (or it ended).
    void drive(int max_turns = 10000) {
        for (int turn = 0; turn < max_turns && !pump->ended(); ++turn) {
            auto want = pump->interest(now);
            pollfd fds[2] = {{want.tls ? tls.ours.get() : -1, 0, 0},
                             {want.plain ? plain.ours.get() : -1, 0, 0}};
            int asked[2] = {want.tls, want.plain};
            for (int i = 0; i < 2; ++i) {
                if (asked[i] & UV_READABLE) fds[i].events |= POLLIN;
                if (asked[i] & UV_WRITABLE) fds[i].events |= POLLOUT;
            }
            REQUIRE(poll(fds, 2, 0) >= 0);
            auto events = [](const pollfd& p, int want_events) {
                int e = 0;
                if (p.revents & POLLIN) e |= UV_READABLE;
                if (p.revents & POLLOUT) e |= UV_WRITABLE;
                if (p.revents & (POLLHUP | POLLERR)) e |= want_events;  // as FdWatch does
                return e;
            };
            int tls_ev = events(fds[0], want.tls);
            int plain_ev = events(fds[1], want.plain);
            if (tls_ev == 0 && plain_ev == 0) return;
            if (tls_ev) pump->on_tls_ready(tls_ev, now);
            if (plain_ev && !pump->ended()) pump->on_plain_ready(plain_ev, now);
        }
    }

    // --- the TLS peer ---

    void peer_flush() {
        while (!peer_pending.empty()) {
            ssize_t n = send(tls.theirs.get(), peer_pending.data(), peer_pending.size(),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0) return;
            peer_pending.erase(peer_pending.begin(), peer_pending.begin() + n);
        }
    }
    // Seals `data` as application data records (up to 16 KiB each).
    void peer_send(std::span<const uint8_t> data) {
        while (!data.empty()) {
            size_t n = std::min<size_t>(data.size(), 16384);
            REQUIRE(peer->seal(data.first(n), side.cipher).ok());
            auto c = side.take_cipher();
            peer_pending.insert(peer_pending.end(), c.begin(), c.end());
            data = data.subspan(n);
        }
        peer_flush();
    }
    void peer_send(std::string_view s) { peer_send(bytes_of(s)); }
    void peer_send_raw(std::span<const uint8_t> bytes) {
        peer_pending.insert(peer_pending.end(), bytes.begin(), bytes.end());
        peer_flush();
    }
    void peer_close_notify() {
        REQUIRE(peer->seal_alert(netproc::Alert::close_notify, side.cipher).ok());
        auto c = side.take_cipher();
        peer_send_raw(c);
    }

    using Received = PeerReceived;
    // Reads and opens everything waiting on the TLS peer's socket.
    Received peer_receive(Received r = {}) {
        for (;;) {
            bool progress = false;
            auto w = side.in.writable(1);
            if (!w.empty()) {
                ssize_t n = recv(tls.theirs.get(), w.data(), w.size(), MSG_DONTWAIT);
                if (n > 0) {
                    side.in.commit(static_cast<size_t>(n));
                    progress = true;
                } else if (n == 0) {
                    r.eof = true;
                }
            }
            if (r.outcome == netproc::RecordLayer::ReadOutcome::more) {
                auto res = peer->read_records(side.in, side.plain, side.cipher);
                auto p = side.take_plain();
                if (!p.empty()) progress = true;
                r.plain.insert(r.plain.end(), p.begin(), p.end());
                if (res.outcome == netproc::RecordLayer::ReadOutcome::fatal &&
                    side.in.size() >= netproc::kRecordHeaderLen) {
                    // A fatal outcome leaves its record in `in`: the alert
                    // itself is not "after" it.
                    auto head = side.in.readable();
                    size_t len = netproc::kRecordHeaderLen + (size_t{head[3]} << 8 | head[4]);
                    side.in.consume(std::min(len, side.in.size()));
                }
                if (res.outcome != netproc::RecordLayer::ReadOutcome::more) {
                    r.outcome = res.outcome;
                    r.alert = res.alert;
                    r.from_peer = res.from_peer;
                    progress = true;
                }
            }
            if (r.outcome != netproc::RecordLayer::ReadOutcome::more) {
                // Whatever follows the end is counted, never opened.
                r.after_end += side.in.size();
                side.in.consume(side.in.size());
            }
            if (!progress) return r;
        }
    }

    // --- the target ---

    void target_send(std::span<const uint8_t> data) {
        REQUIRE(send(plain.theirs.get(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) ==
                static_cast<ssize_t>(data.size()));
    }
    void target_send(std::string_view s) { target_send(bytes_of(s)); }
    // Reads what has arrived; eof: the pump shut the plain side for writing.
    Bytes target_receive(bool* eof = nullptr) {
        Bytes out;
        Bytes buf(65536);
        for (;;) {
            ssize_t n = recv(plain.theirs.get(), buf.data(), buf.size(), MSG_DONTWAIT);
            if (n > 0) {
                out.insert(out.end(), buf.begin(), buf.begin() + n);
                continue;
            }
            if (eof) *eof = n == 0;
            return out;
        }
    }
};

}  // namespace tlsward::rltest
