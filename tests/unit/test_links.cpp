// The pure pieces behind "links that never stall": token buckets, record
// sizing, handshake admission and connection limits.
#include <catch2/catch.hpp>

#include "netproc/admission.hpp"
#include "netproc/record_sizer.hpp"
#include "netproc/token_bucket.hpp"

using namespace tlsward;
using namespace tlsward::netproc;

TEST_CASE("a token bucket starts full, refills at its rate and caps at its burst", "[links]") {
    TokenBucket b(ipc::RateLimit{1000, 500}, 0);
    CHECK(b.limited());
    CHECK(b.available(0) == 500);
    b.take(500);
    CHECK(b.available(0) == 0);
    CHECK(b.available(100) == 100);  // 1000/s for 100 ms
    CHECK(b.available(250) == 250);
    CHECK(b.available(10000) == 500);  // capped at the burst
    b.take(500);
    CHECK(b.wait_ms(100, 10000) == 100);
    CHECK(b.wait_ms(1000, 10000) == 500);  // asks beyond the burst wait for a full bucket
}

TEST_CASE("a token bucket loses nothing to rounding at fine granularity", "[links]") {
    TokenBucket b(ipc::RateLimit{3, 1000}, 0);
    b.take(1000);
    uint64_t got = 0;
    for (uint64_t ms = 1; ms <= 10000; ++ms) {
        got += b.available(ms);
        b.take(b.available(ms));
    }
    CHECK(got == 30);  // 3 bytes/s for 10 s, refilled a millisecond at a time
}

TEST_CASE("an unlimited bucket never limits; a new rate keeps earned tokens", "[links]") {
    TokenBucket u;
    CHECK_FALSE(u.limited());
    CHECK(u.available(5) == TokenBucket::kUnlimited);
    CHECK(u.wait_ms(1 << 30, 5) == 0);
    TokenBucket b(ipc::RateLimit{1000, 1000}, 0);
    b.take(800);
    b.configure(ipc::RateLimit{10, 100}, 0);
    CHECK(b.available(0) == 100);  // 200 earned, capped by the new burst
}

TEST_CASE("dynamic record sizing: small, then full after the boost, small after a pause",
          "[links]") {
    ipc::LinkSettings link;
    link.record_boost_after = 10000;
    link.record_idle_reset_ms = 1000;
    RecordSizer sizer(link);
    const size_t overhead = 22;  // TLS 1.3: header, inner type, tag
    CHECK(sizer.next(0, overhead, 16384) == kSegmentRecordBytes - overhead);
    uint64_t t = 0;
    size_t sent = 0;
    while (sent < 10000) {
        size_t n = sizer.next(t, overhead, 16384);
        sizer.sent(n, t);
        sent += n;
        t += 10;
    }
    const uint64_t last = t - 10;  // when the last record went out
    CHECK(sizer.next(last, overhead, 16384) == 16384);
    CHECK(sizer.next(last, overhead, 4096) == 4096);  // never above the peer's limit
    CHECK(sizer.next(last + 999, overhead, 16384) == 16384);
    CHECK(sizer.next(last + 1000, overhead, 16384) == kSegmentRecordBytes - overhead);
}

TEST_CASE("fixed record size", "[links]") {
    ipc::LinkSettings link;
    link.record_size = 4096;
    RecordSizer sizer(link);
    CHECK(sizer.next(0, 22, 16384) == 4096);
    CHECK(sizer.next(0, 22, 1024) == 1024);
}

TEST_CASE("handshake admission estimates the wait from the measured rate", "[links]") {
    HandshakeAdmission a;
    CHECK(a.expected_wait_ms(100) == 0);  // nothing measured: admit
    // 50 completions per 100 ms window for two seconds: 500 per second.
    uint64_t t = 1;
    for (int w = 0; w < 20; ++w) {
        for (int i = 0; i < 50; ++i) a.completed(t + static_cast<uint64_t>(i));
        t += HandshakeAdmission::kWindowMs;
    }
    a.completed(t);
    CHECK(a.rate() == Approx(500).epsilon(0.05));
    CHECK(a.expected_wait_ms(499) == Approx(1000).epsilon(0.05));
    // A long quiet spell forgets the old rate.
    a.completed(t + 60000);
    CHECK(a.rate() == 0);
}

#include "netproc/connection_limits.hpp"

TEST_CASE("connection limits: global, per service, per source, released on close", "[links]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
        ConnectionLimits limits(&loop);
        limits.set_global_max(5);
        ipc::LinkSettings web;
        web.max_connections = 3;
        web.max_connections_per_source = 2;
        ipc::LinkSettings api;
        using V = ConnectionLimits::Verdict;
        CHECK(limits.admit("web", web, "10.0.0.1") == V::ok);
        CHECK(limits.admit("web", web, "10.0.0.1") == V::ok);
        CHECK(limits.admit("web", web, "10.0.0.1") == V::source_full);
        CHECK(limits.admit("web", web, "10.0.0.2") == V::ok);
        CHECK(limits.admit("web", web, "10.0.0.3") == V::service_full);
        CHECK(limits.admit("api", api, "10.0.0.1") == V::ok);
        CHECK(limits.admit("api", api, "10.0.0.1") == V::ok);
        CHECK(limits.admit("api", api, "10.0.0.1") == V::global_full);
        CHECK(limits.open() == 5);
        limits.release("web", "10.0.0.1");
        CHECK(limits.admit("web", web, "10.0.0.1") == V::ok);
        CHECK(limits.refused(V::source_full) == 1);
        CHECK(limits.refused(V::service_full) == 1);
        CHECK(limits.refused(V::global_full) == 1);
        SocketAddress v4 = parse_numeric_address("192.0.2.7:4431").value();
        SocketAddress v6 = parse_numeric_address("[2001:db8::1]:4431").value();
        CHECK(ConnectionLimits::source_key(v4) == "192.0.2.7");
        CHECK(ConnectionLimits::source_key(v6) == "2001:db8::1");
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
}
