// The record pump over socketpairs (record_pump_rig.hpp): data both ways,
// half-close in each direction, backpressure each way, close_notify after
// everything sealed before it, and a fatal alert mid-stream.
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>

#include <chrono>

#include "record_pump_rig.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

// SIGALRM every `period_ms` while alive, with a handler that does nothing
// and no SA_RESTART: a call that blocks returns EINTR at the next tick, so
// a pump that blocks makes its test fail (slow) instead of hang.
class AlarmTicks {
public:
    explicit AlarmTicks(long period_ms) {
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        REQUIRE(sigaction(SIGALRM, &sa, &old_) == 0);
        itimerval t{};
        t.it_interval.tv_usec = period_ms * 1000;
        t.it_value.tv_usec = period_ms * 1000;
        REQUIRE(setitimer(ITIMER_REAL, &t, nullptr) == 0);
    }
    ~AlarmTicks() {
        itimerval off{};
        setitimer(ITIMER_REAL, &off, nullptr);
        sigaction(SIGALRM, &old_, nullptr);
    }
    AlarmTicks(const AlarmTicks&) = delete;
    AlarmTicks& operator=(const AlarmTicks&) = delete;

private:
    struct sigaction old_ {};
};

void clear_nonblock(int fd) {
    int flags = fcntl(fd, F_GETFL);
    REQUIRE(flags >= 0);
    REQUIRE(fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0);
}

}  // namespace

TEST_CASE("record pump: data both ways", "[record_pump]") {
    PumpRig rig;
    rig.make();
    rig.peer_send("hello target");
    rig.drive();
    CHECK(rig.target_receive() == bytes_of("hello target"));
    rig.target_send("hello client");
    rig.drive();
    auto got = rig.peer_receive();
    CHECK(got.plain == bytes_of("hello client"));
    CHECK(got.outcome == Outcome::more);
    CHECK(rig.pump->bytes_from_tls() == 12);
    CHECK(rig.pump->bytes_to_tls() == 12);
    CHECK(rig.counters.bytes_from_tls == 12);
    CHECK(rig.counters.bytes_to_tls == 12);
    CHECK_FALSE(rig.pump->ended());
    CHECK_FALSE(rig.pump->failing());
}

TEST_CASE("record pump: bytes the helper read past the handshake go first", "[record_pump]") {
    PumpRig rig;
    rig.make(/*start=*/false);
    REQUIRE(rig.peer->seal(bytes_of("early "), rig.side.cipher).ok());
    REQUIRE(rig.pump->add_tls_input(rig.side.take_cipher()));
    REQUIRE(rig.pump->add_plain_output(bytes_of("PROXY TCP4 ...\r\n")));
    rig.peer_send("data");
    rig.pump->start(rig.plain.ours.get(), rig.now);
    rig.drive();
    CHECK(rig.target_receive() == bytes_of("PROXY TCP4 ...\r\nearly data"));
}

TEST_CASE(
    "record pump: the client's close_notify shuts the target's write side once "
    "plain_out has drained",
    "[record_pump][half_close]") {
    PumpRig rig(0x1301, 0, 0, /*sndbuf=*/4096);
    rig.make();
    Bytes data = pattern(200000, 3);
    rig.peer_send(data);
    // The target does not read yet: what the client sent waits in
    // plain_out (and the socket), and the close_notify behind it.
    bool eof = false;
    for (int i = 0; i < 50 && !rig.peer_pending.empty(); ++i) {
        rig.drive();
        rig.peer_flush();
    }
    rig.peer_close_notify();
    rig.drive();
    CHECK(rig.pump->shut_count() == 0);  // plain_out is not drained
    Bytes received;
    for (int i = 0; i < 1000 && !eof; ++i) {
        auto part = rig.target_receive(&eof);
        received.insert(received.end(), part.begin(), part.end());
        rig.peer_flush();
        rig.drive();
    }
    CHECK(eof);
    CHECK(received.size() == data.size());
    CHECK(received == data);
    CHECK(rig.pump->shut_count() == 1);
    REQUIRE(rig.pump->reason());
    CHECK(rig.pump->reason()->kind == CloseKind::close_notify);
    CHECK(rig.pump->reason()->text == "client sent close_notify");
    CHECK_FALSE(rig.pump->ended());
    CHECK_FALSE(rig.pump->finished());

    // The other direction still runs: the target answers, then closes.
    rig.target_send("late answer");
    REQUIRE(shutdown(rig.plain.theirs.get(), SHUT_WR) == 0);
    rig.drive();
    auto got = rig.peer_receive();
    CHECK(got.plain == bytes_of("late answer"));
    CHECK(got.outcome == Outcome::close_notify);
    CHECK(got.eof);
    CHECK(rig.pump->finished());
    CHECK(rig.pump->reason()->text == "client sent close_notify");
}

TEST_CASE(
    "record pump: the target's EOF becomes close_notify, then a shutdown towards the "
    "client once tls_out has drained",
    "[record_pump][half_close]") {
    PumpRig rig(0x1301, 0, 0, /*sndbuf=*/4096);
    rig.make();
    Bytes data = pattern(300000, 5);
    size_t sent = 0;
    bool target_done = false;
    auto target_push = [&] {
        while (sent < data.size()) {
            ssize_t n = send(rig.plain.theirs.get(), data.data() + sent, data.size() - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<size_t>(n);
        }
        if (!target_done) REQUIRE(shutdown(rig.plain.theirs.get(), SHUT_WR) == 0);
        target_done = true;
    };
    // The client does not read yet: the target's data fills the socket and
    // tls_out, and the target's EOF waits behind it.
    for (int i = 0; i < 50; ++i) {
        target_push();
        rig.drive();
    }
    REQUIRE_FALSE(target_done);  // the pump pushed back
    CHECK(rig.pump->shut_count() == 0);
    PumpRig::Received got;
    for (int i = 0; i < 10000 && got.outcome == Outcome::more; ++i) {
        target_push();
        rig.drive();
        got = rig.peer_receive(got);
    }
    rig.drive();
    got = rig.peer_receive(got);
    CHECK(got.plain.size() == data.size());
    CHECK(got.plain == data);
    CHECK(got.outcome == Outcome::close_notify);  // after all data
    CHECK(got.after_end == 0);
    CHECK(got.eof);  // then the write side was shut
    CHECK(rig.pump->shut_count() == 1);
    CHECK_FALSE(rig.pump->ended());
    REQUIRE(rig.pump->reason());
    CHECK(rig.pump->reason()->kind == CloseKind::peer_closed);
    CHECK(rig.pump->reason()->text == "target closed");
}

TEST_CASE("record pump: close_notify goes out after all data sealed before it",
          "[record_pump][half_close]") {
    PumpRig rig;
    rig.make();
    // Data and EOF arrive together: one read sees both.
    Bytes data = pattern(50000, 9);
    rig.target_send(data);
    REQUIRE(shutdown(rig.plain.theirs.get(), SHUT_WR) == 0);
    PumpRig::Received got;
    for (int i = 0; i < 100 && got.outcome == Outcome::more; ++i) {
        rig.drive();
        got = rig.peer_receive(got);
    }
    CHECK(got.plain == data);
    CHECK(got.outcome == Outcome::close_notify);
    CHECK(got.after_end == 0);
    CHECK(got.eof);
    // The client closes too: both directions are done.
    rig.peer_close_notify();
    rig.drive();
    bool eof = false;
    CHECK(rig.target_receive(&eof).empty());
    CHECK(eof);
    CHECK(rig.pump->finished());
}

TEST_CASE("record pump: a target that does not read stops reads from the client",
          "[record_pump][backpressure]") {
    PumpRig rig(0x1301, 0, 0, /*sndbuf=*/4096);
    rig.make();
    Bytes data = pattern(400000, 1);
    rig.peer_send(data);
    for (int i = 0; i < 100; ++i) {
        rig.drive();
        rig.peer_flush();
    }
    // Both pooled buffers hold what the target did not take, and the pump
    // no longer reads the client's socket, where the rest waits.
    CHECK_FALSE(rig.pump->interest(rig.now).tls & UV_READABLE);
    size_t waiting = queued(rig.tls.ours.get());
    CHECK(waiting > 0);
    rig.pump->on_tls_ready(UV_READABLE, rig.now);
    CHECK(queued(rig.tls.ours.get()) == waiting);
    CHECK(rig.pump->bytes_from_tls() < 3 * PumpRig::kPumpBlock);
    CHECK_FALSE(rig.peer_pending.empty());  // the client is pushed back

    // Once the target reads, everything arrives, in order.
    Bytes received;
    for (int i = 0; i < 10000 && received.size() < data.size(); ++i) {
        auto part = rig.target_receive();
        received.insert(received.end(), part.begin(), part.end());
        rig.peer_flush();
        rig.drive();
    }
    CHECK(received == data);
}

TEST_CASE("record pump: a client that does not read stops reads from the target",
          "[record_pump][backpressure]") {
    PumpRig rig(0x1301, 0, 0, /*sndbuf=*/4096);
    rig.make();
    Bytes data = pattern(400000, 2);
    size_t sent = 0;
    for (int i = 0; i < 200 && sent < data.size(); ++i) {
        ssize_t n = send(rig.plain.theirs.get(), data.data() + sent, data.size() - sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        rig.drive();
    }
    REQUIRE(sent < data.size());
    CHECK_FALSE(rig.pump->interest(rig.now).plain & UV_READABLE);
    size_t waiting = queued(rig.plain.ours.get());
    CHECK(waiting > 0);
    rig.pump->on_plain_ready(UV_READABLE, rig.now);
    CHECK(queued(rig.plain.ours.get()) == waiting);
    CHECK(rig.pump->bytes_to_tls() < 2 * PumpRig::kPumpBlock);

    PumpRig::Received got;
    for (int i = 0; i < 10000 && got.plain.size() < data.size(); ++i) {
        if (sent < data.size()) {
            ssize_t n = send(rig.plain.theirs.get(), data.data() + sent, data.size() - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) sent += static_cast<size_t>(n);
        }
        rig.drive();
        got = rig.peer_receive(got);
    }
    CHECK(got.plain == data);
    CHECK(got.outcome == Outcome::more);
}

TEST_CASE(
    "record pump: a bad record mid-stream: the alert is sealed and flushed, nothing "
    "after it",
    "[record_pump][alert]") {
    PumpRig rig(0x1301, 0, 0, /*sndbuf=*/4096);
    rig.make();
    // The client does not read for now: the target's data waits in the
    // socket and tls_out, so the alert has to queue behind it.
    Bytes data = pattern(100000, 4);
    size_t sent = 0;
    for (int i = 0; i < 100 && sent < data.size(); ++i) {
        ssize_t n = send(rig.plain.theirs.get(), data.data() + sent, data.size() - sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        rig.drive();
    }
    rig.peer_send("good");
    rig.drive();
    CHECK(rig.target_receive() == bytes_of("good"));
    REQUIRE(rig.peer->seal(bytes_of("tampered"), rig.side.cipher).ok());
    Bytes bad = rig.side.take_cipher();
    bad[bad.size() - 1] ^= 1;  // the tag no longer matches
    rig.peer_send_raw(bad);
    rig.peer_send("never delivered");
    rig.drive();

    CHECK(rig.target_receive().empty());
    CHECK(rig.pump->failing());
    CHECK_FALSE(rig.pump->ended());  // the alert waits behind the data
    REQUIRE(rig.pump->reason());
    CHECK(rig.pump->reason()->kind == CloseKind::alert_sent);
    CHECK(rig.pump->reason()->text.rfind("protocol error, sent alert bad_record_mac", 0) == 0);
    auto want = rig.pump->interest(rig.now);
    CHECK(want.tls == UV_WRITABLE);  // nothing more is read, from either side
    CHECK(want.plain == 0);
    const uint64_t sealed = rig.pump->bytes_to_tls();

    PumpRig::Received got;
    for (int i = 0; i < 1000 && !rig.pump->ended(); ++i) {
        got = rig.peer_receive(got);
        rig.drive();
    }
    got = rig.peer_receive(got);
    CHECK(rig.pump->ended());
    CHECK(rig.pump->reason()->kind == CloseKind::alert_sent);
    CHECK(got.outcome == Outcome::fatal);
    CHECK(got.from_peer);
    CHECK(got.alert == Alert::bad_record_mac);
    INFO(alert_name(got.alert));
    CHECK(got.after_end == 0);  // nothing after the alert
    // The client got exactly what was sealed before the alert, and nothing
    // more was read from the target or sealed while the alert drained.
    CHECK(rig.pump->bytes_to_tls() == sealed);
    REQUIRE(got.plain.size() == sealed);
    CHECK(std::equal(got.plain.begin(), got.plain.end(), data.begin()));
    CHECK(sealed < sent);
}

TEST_CASE(
    "record pump: close_notify_and_fail seals close_notify after the data, ends when "
    "flushed",
    "[record_pump][alert]") {
    PumpRig rig;
    rig.make();
    rig.target_send("last words");
    rig.drive();
    rig.pump->close_notify_and_fail({CloseKind::idle_timeout, "idle timeout"});
    CHECK(rig.pump->ended());  // nothing was waiting: flushed at once
    CHECK(rig.pump->reason()->kind == CloseKind::idle_timeout);
    auto got = rig.peer_receive();
    CHECK(got.plain == bytes_of("last words"));
    CHECK(got.outcome == Outcome::close_notify);
    CHECK(got.after_end == 0);
}

TEST_CASE("record pump: never blocks on a socket whose O_NONBLOCK was cleared",
          "[record_pump][nonblock]") {
    // A socket lent to a helper shares its open file description with
    // netproc, O_NONBLOCK included: a rogue helper may clear the flag on
    // its own connection. Every send and recv of the pump passes
    // MSG_DONTWAIT, so netproc's loop still never waits on that socket.
    PumpRig rig(0x1301, 0, 0, /*sndbuf=*/4096);
    rig.make();
    Bytes data = pattern(100000, 6);
    size_t sent = 0;
    auto target_push = [&] {
        while (sent < data.size()) {
            ssize_t n = send(rig.plain.theirs.get(), data.data() + sent, data.size() - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<size_t>(n);
        }
    };
    // The client does not read: the TLS socket fills and tls_out holds more.
    for (int i = 0; i < 20; ++i) {
        target_push();
        rig.drive();
    }
    REQUIRE(sent < data.size());
    REQUIRE((rig.pump->interest(rig.now).tls & UV_WRITABLE) != 0);

    clear_nonblock(rig.tls.ours.get());
    clear_nonblock(rig.plain.ours.get());
    AlarmTicks ticks(300);
    auto t0 = std::chrono::steady_clock::now();
    // A full socket to send on, nothing to receive: both return at once.
    rig.pump->on_tls_ready(UV_READABLE | UV_WRITABLE, rig.now);
    rig.pump->on_plain_ready(UV_READABLE | UV_WRITABLE, rig.now);
    // The client reads everything; the pump drains tls_out (partial sends
    // where the socket has room) and then finds the target has nothing
    // more: a recvmsg with nothing queued returns at once too.
    PumpRig::Received got;
    auto elapsed_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
            .count();
    };
    // (Bounded in time too: a regression fails in seconds, not minutes.)
    for (int i = 0; i < 200 && got.plain.size() < sent && elapsed_ms() < 2000; ++i) {
        got = rig.peer_receive(got);
        rig.pump->on_tls_ready(UV_WRITABLE | UV_READABLE, rig.now);
        rig.pump->on_plain_ready(UV_READABLE, rig.now);
        target_push();
    }
    CHECK(elapsed_ms() < 250);
    CHECK_FALSE(rig.pump->ended());
    CHECK(got.plain.size() == data.size());
    CHECK((got.plain == data));
}
