// The handshake engine in this process: a real OpenSSL client on a thread,
// the server end of a TCP connection lent to the engine (the test keeps
// its own copy, as netproc does), and the exported keys checked against
// the client's key log and on the wire.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <map>
#include <memory>

#include "cryptoproc/handshake.hpp"
#include "cryptoproc/helper.hpp"
#include "cryptoproc/key_export.hpp"
#include "test_cryptoproc_support.hpp"

using namespace tlsward;
using namespace tlsward::cryptoproc;
using namespace tlsward::cptest;
using Behaviour = ClientOptions::Behaviour;

namespace {

constexpr uint32_t kGeneration = 42;

// One service, a job table and a loop.
struct Engine {
    TestLoop loop;
    std::unique_ptr<FdPoller> poller;
    std::unique_ptr<ServiceContext> service;
    std::unique_ptr<JobTable> jobs;
    std::map<uint64_t, HandshakeResult> results;

    explicit Engine(const ServiceSpec& spec) {
        REQUIRE(key_export_init().ok());
        auto s = build_service_context(spec);
        INFO((s.ok() ? std::string() : s.message()));
        REQUIRE(s.ok());
        service = std::move(*s);
        auto p = FdPoller::create(loop.get());
        REQUIRE(p.ok());
        poller = std::move(*p);
        jobs = std::make_unique<JobTable>(loop.get(), poller.get(), kGeneration);
    }
    ~Engine() {
        jobs.reset();
        poller.reset();
        CHECK(loop.close() == 0);  // every handle closed: nothing leaked
    }

    // Lends a copy of the server end; the caller keeps its own.
    void lend(uint64_t job_id, int server_fd, uint8_t mask = ipc::kAeadAll,
              uint32_t deadline_ms = 5000) {
        ipc::HandshakeJob job;
        job.conn_id = 1000 + job_id;
        job.service_id = service->id;
        job.deadline_ms = deadline_ms;
        job.aead_mask = mask;
        UniqueFd copy(fcntl(server_fd, F_DUPFD_CLOEXEC, 0));
        auto refused = jobs->start(
            job_id, job, service.get(), std::move(copy),
            [this](uint64_t id, HandshakeResult&& r) { results.emplace(id, std::move(r)); });
        REQUIRE_FALSE(refused.has_value());
    }

    HandshakeResult& wait(uint64_t job_id, uint64_t timeout_ms = 5000) {
        REQUIRE(loop.run_until([&] { return results.count(job_id) != 0; }, timeout_ms));
        // Let the reaper close the helper's fd copy.
        loop.run_until([] { return false; }, 20);
        return results.at(job_id);
    }
};

ServiceSpec both_keys() {
    return server_spec(1, "web", {&ecdsa_p256(), &rsa_2048()});
}

const ipc::HandshakeDone& done_of(const HandshakeResult& r) {
    if (auto* f = std::get_if<ipc::HandshakeFailed>(&r)) {
        INFO("reason " << ipc::fail_reason_name(f->reason) << ": " << f->detail);
        FAIL("handshake failed");
    }
    return std::get<ipc::HandshakeDone>(r);
}

const ipc::HandshakeFailed& failed_of(const HandshakeResult& r) {
    REQUIRE(std::holds_alternative<ipc::HandshakeFailed>(r));
    return std::get<ipc::HandshakeFailed>(r);
}

struct Suite {
    const char* openssl;
    uint16_t id;
};

}  // namespace

TEST_CASE("cryptoproc: TLS 1.3 handshake exports the key log secrets, every suite",
          "[cryptoproc]") {
    auto suite =
        GENERATE(Suite{"TLS_AES_128_GCM_SHA256", 0x1301}, Suite{"TLS_AES_256_GCM_SHA384", 0x1302},
                 Suite{"TLS_CHACHA20_POLY1305_SHA256", 0x1303});
    CAPTURE(suite.openssl);
    Engine engine(both_keys());
    auto [c, s] = tcp_pair();
    ClientOptions o;
    o.min_version = o.max_version = TLS1_3_VERSION;
    o.ciphersuites = suite.openssl;
    o.sni = "example.test";
    o.app_data = "ping";
    TestClient client(std::move(c), o);
    engine.lend(1, s.get());
    const auto& done = done_of(engine.wait(1));
    const ClientResult& cr = client.join();
    INFO(cr.error);
    REQUIRE(cr.ok);

    CHECK(done.conn_id == 1001);
    CHECK(done.helper_generation == kGeneration);
    CHECK(done.tls_version == kTls13);
    CHECK(done.cipher_suite == suite.id);
    CHECK(cr.suite == suite.id);
    CHECK(to_vector(done.client_secret.view()) == cr.client_traffic);
    CHECK(to_vector(done.server_secret.view()) == cr.server_traffic);
    CHECK(done.client_seq == 0);
    CHECK(done.server_seq == 0);  // tickets are off
    CHECK(done.max_plaintext == 16384);
    CHECK(done.sni == "example.test");
    CHECK(done.alpn.empty());
    CHECK(done.peer_identity.empty());
    // The socket is still netproc's: non-blocking, usable, keys work.
    CHECK((fcntl(s.get(), F_GETFL) & O_NONBLOCK) != 0);
    auto path = check_data_path(done, client, s.get(), "ping");
    INFO((path.ok() ? std::string() : path.message()));
    CHECK(path.ok());
    CHECK(engine.jobs->counters().ok == 1);
    CHECK(engine.jobs->counters().in_flight == 0);
}

TEST_CASE("cryptoproc: TLS 1.2 handshake exports the PRF key block", "[cryptoproc]") {
    auto suite = GENERATE(Suite{"ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B},
                          Suite{"ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C},
                          Suite{"ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9},
                          Suite{"ECDHE-RSA-AES128-GCM-SHA256", 0xC02F});
    CAPTURE(suite.openssl);
    Engine engine(both_keys());
    auto [c, s] = tcp_pair();
    ClientOptions o;
    o.min_version = o.max_version = TLS1_2_VERSION;
    o.cipher_list = suite.openssl;
    o.app_data = "ping";
    TestClient client(std::move(c), o);
    engine.lend(1, s.get());
    const auto& done = done_of(engine.wait(1));
    const ClientResult& cr = client.join();
    INFO(cr.error);
    REQUIRE(cr.ok);

    CHECK(done.tls_version == kTls12);
    CHECK(done.cipher_suite == suite.id);
    CHECK(done.client_seq == 1);
    CHECK(done.server_seq == 1);
    // The key block recomputed from the client's master secret.
    const SuiteInfo* info = find_suite(suite.id);
    REQUIRE(info);
    REQUIRE(cr.master.size() == 48);
    std::vector<uint8_t> seed = cr.server_random;
    seed.insert(seed.end(), cr.client_random.begin(), cr.client_random.end());
    auto block = reference_prf(info->digest, cr.master, "key expansion", seed,
                               2 * (info->key_len + info->iv_len));
    std::vector<uint8_t> client_w(block.begin(), block.begin() + info->key_len);
    std::vector<uint8_t> server_w(block.begin() + info->key_len, block.begin() + 2 * info->key_len);
    auto ivs = block.begin() + 2 * info->key_len;
    client_w.insert(client_w.end(), ivs, ivs + info->iv_len);
    server_w.insert(server_w.end(), ivs + info->iv_len, ivs + 2 * info->iv_len);
    CHECK(to_vector(done.client_secret.view()) == client_w);
    CHECK(to_vector(done.server_secret.view()) == server_w);
    auto path = check_data_path(done, client, s.get(), "ping");
    INFO((path.ok() ? std::string() : path.message()));
    CHECK(path.ok());
}

TEST_CASE("cryptoproc: application data in the client's Finished flight comes back as leftover",
          "[cryptoproc]") {
    SECTION("TLS 1.3: the client's first record, whole") {
        Engine engine(both_keys());
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.min_version = TLS1_3_VERSION;
        o.app_data = "sent with the Finished";
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& done = done_of(engine.wait(1));
        REQUIRE(client.join().ok);
        REQUIRE(!done.leftover.empty());
        CHECK(record_length(done.leftover) == done.leftover.size());
        auto ck = record_keys(done.cipher_suite, done.client_secret.view());
        REQUIRE(ck.ok());
        auto rec = open_record(*ck, 0, done.leftover);
        REQUIRE(rec.ok());
        CHECK(std::string(rec->second.begin(), rec->second.end()) == "sent with the Finished");
    }
    SECTION("TLS 1.2: bytes after the client's Finished, untouched") {
        Engine engine(both_keys());
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.max_version = TLS1_2_VERSION;
        o.raw_after_finished = {0x17, 0x03, 0x03, 0x00, 0x03, 'a', 'b', 'c'};
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& done = done_of(engine.wait(1));
        REQUIRE(client.join().ok);
        CHECK(done.leftover == o.raw_after_finished);
    }
}

TEST_CASE("cryptoproc: the AEAD mask restricts the suite", "[cryptoproc]") {
    Engine engine(both_keys());
    SECTION("ChaCha20 only, TLS 1.3 client with every suite") {
        auto [c, s] = tcp_pair();
        TestClient client(std::move(c), ClientOptions{});
        engine.lend(1, s.get(), ipc::kAeadChaCha20Poly1305);
        const auto& done = done_of(engine.wait(1));
        REQUIRE(client.join().ok);
        CHECK(done.cipher_suite == 0x1303);
    }
    SECTION("ChaCha20 only, TLS 1.2 client") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.max_version = TLS1_2_VERSION;
        TestClient client(std::move(c), o);
        engine.lend(1, s.get(), ipc::kAeadChaCha20Poly1305);
        const auto& done = done_of(engine.wait(1));
        REQUIRE(client.join().ok);
        CHECK(done.cipher_suite == 0xCCA9);
    }
    SECTION("a client offering only a suite outside the mask gets handshake_failure") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.min_version = TLS1_3_VERSION;
        o.ciphersuites = "TLS_AES_128_GCM_SHA256";
        TestClient client(std::move(c), o);
        engine.lend(1, s.get(), ipc::kAeadChaCha20Poly1305);
        const auto& f = failed_of(engine.wait(1));
        CHECK(f.reason == ipc::FailReason::alert_sent);
        CHECK(f.alert == SSL_AD_HANDSHAKE_FAILURE);
        CHECK_FALSE(client.join().ok);
        CHECK(engine.jobs->counters().failed[static_cast<size_t>(ipc::FailReason::alert_sent)] ==
              1);
    }
}

TEST_CASE("cryptoproc: failures are classified", "[cryptoproc]") {
    Engine engine(both_keys());
    SECTION("garbage in a TLS record: alert sent") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.behaviour = Behaviour::garbage;
        // A handshake record holding a 4-byte "ClientHello".
        o.garbage = {0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& f = failed_of(engine.wait(1));
        CAPTURE(f.detail);
        CHECK(f.reason == ipc::FailReason::alert_sent);
        CHECK(f.alert == SSL_AD_DECODE_ERROR);
        // The alert reached the client.
        std::vector<uint8_t> got;
        uint8_t buf[64];
        ssize_t n = recv(client.fd(), buf, sizeof buf, 0);
        REQUIRE(n >= 7);
        CHECK(buf[0] == 21);  // alert record
        CHECK(buf[6] == SSL_AD_DECODE_ERROR);
    }
    SECTION("bytes that are not TLS at all: nothing sent, io_error") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.behaviour = Behaviour::garbage;
        std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        o.garbage.assign(http.begin(), http.end());
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& f = failed_of(engine.wait(1));
        CAPTURE(f.detail);
        CHECK(f.reason == ipc::FailReason::io_error);
    }
    SECTION("a client that stalls hits the deadline") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.behaviour = Behaviour::stall_after_hello;
        TestClient client(std::move(c), o);
        engine.lend(1, s.get(), ipc::kAeadAll, 200);
        const auto& f = failed_of(engine.wait(1));
        CHECK(f.reason == ipc::FailReason::timeout);
        client.join();
    }
    SECTION("a client that closes mid-handshake") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.behaviour = Behaviour::close_mid_handshake;
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& f = failed_of(engine.wait(1));
        CAPTURE(f.detail);
        CHECK(f.reason == ipc::FailReason::peer_closed);
    }
    SECTION("a client that resets the connection mid-handshake: peer_closed") {
        // The reset reaches the helper as EPOLLERR on the watch, which the
        // poller reports as UV_EBADF (libuv's convention): the helper logged
        // "poll: bad file descriptor" as an io_error for an fd it still owned.
        auto [c, s] = tcp_pair();
        linger l{1, 0};  // close() sends a RST
        REQUIRE(setsockopt(c.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
        ClientOptions o;
        o.behaviour = Behaviour::close_mid_handshake;
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& f = failed_of(engine.wait(1));
        CAPTURE(f.detail);
        CHECK(f.reason == ipc::FailReason::peer_closed);
        CHECK(f.detail.find("reset") != std::string::npos);
        CHECK(f.detail.find("bad file descriptor") == std::string::npos);
    }
    SECTION("a client that rejects the certificate sends a fatal alert") {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.verify_ca_pem = ecdsa_with_ca().ca_pem;  // not the issuer of the server's certificate
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& f = failed_of(engine.wait(1));
        CAPTURE(f.detail);
        CHECK(f.reason == ipc::FailReason::alert_received);
        CHECK(f.alert == SSL_AD_UNKNOWN_CA);
        CHECK_FALSE(client.join().ok);
    }
}

TEST_CASE("cryptoproc: the server sequence number counts records after Finished", "[cryptoproc]") {
    // Tickets come with the shared keys (one per handshake); ask for two
    // here to see each counted.
    Engine engine(both_keys());
    ipc::CpTicketKeys keys;
    keys.keys.push_back(SecretBytes(80));
    REQUIRE(engine.service->set_ticket_keys(keys).ok());
    REQUIRE(SSL_CTX_set_num_tickets(engine.service->ctx.get(), 2) == 1);
    auto [c, s] = tcp_pair();
    ClientOptions o;
    o.min_version = TLS1_3_VERSION;
    o.app_data = "ping";
    TestClient client(std::move(c), o);
    engine.lend(1, s.get());
    const auto& done = done_of(engine.wait(1));
    REQUIRE(client.join().ok);
    CHECK(done.client_seq == 0);
    CHECK(done.server_seq == 2);
    auto path = check_data_path(done, client, s.get(), "ping");  // reads past both tickets
    INFO((path.ok() ? std::string() : path.message()));
    CHECK(path.ok());
}

TEST_CASE("cryptoproc: max_fragment_length, certificate chain", "[cryptoproc]") {
    SECTION("a negotiated max_fragment_length lowers max_plaintext") {
        Engine engine(both_keys());
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.max_fragment_length = TLSEXT_max_fragment_length_1024;
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        const auto& done = done_of(engine.wait(1));
        REQUIRE(client.join().ok);
        CHECK(done.max_plaintext == 1024);
    }
    SECTION("the intermediate goes out with the leaf") {
        Engine engine(server_spec(1, "chain", {&ecdsa_with_ca()}));
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.verify_ca_pem = ecdsa_with_ca().ca_pem;
        TestClient client(std::move(c), o);
        engine.lend(1, s.get());
        done_of(engine.wait(1));
        const ClientResult& cr = client.join();
        REQUIRE(cr.ok);
        CHECK(cr.verify_result == X509_V_OK);
        CHECK(cr.peer_chain_length == 2);
    }
}

TEST_CASE("cryptoproc: many handshakes at once in one loop", "[cryptoproc]") {
    Engine engine(both_keys());
    constexpr int kN = 16;
    std::vector<UniqueFd> servers;
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < kN; ++i) {
        auto [c, s] = tcp_pair();
        ClientOptions o;
        o.max_version = i % 2 ? TLS1_2_VERSION : TLS1_3_VERSION;
        o.app_data = "ping";
        clients.push_back(std::make_unique<TestClient>(std::move(c), o));
        engine.lend(static_cast<uint64_t>(i), s.get());
        servers.push_back(std::move(s));
    }
    REQUIRE(engine.loop.run_until([&] { return engine.results.size() == kN; }));
    for (int i = 0; i < kN; ++i) {
        CAPTURE(i);
        const auto& done = done_of(engine.results.at(static_cast<uint64_t>(i)));
        REQUIRE(clients[static_cast<size_t>(i)]->join().ok);
        auto path = check_data_path(done, *clients[static_cast<size_t>(i)],
                                    servers[static_cast<size_t>(i)].get(), "ping");
        INFO((path.ok() ? std::string() : path.message()));
        CHECK(path.ok());
    }
    CHECK(engine.jobs->counters().ok == kN);
}

TEST_CASE("cryptoproc: jobs refused before they start", "[cryptoproc]") {
    Engine engine(both_keys());
    ipc::HandshakeJob job;
    job.service_id = 99;
    auto noop = [](uint64_t, HandshakeResult&&) {};
    SECTION("unknown service") {
        auto [c, s] = tcp_pair();
        auto f = engine.jobs->start(1, job, nullptr, std::move(s), noop);
        REQUIRE(f.has_value());
        CHECK(f->reason == ipc::FailReason::unknown_service);
    }
    SECTION("a blocking socket is refused, its flags untouched") {
        auto [c, s] = tcp_pair();
        UniqueFd blocking(fcntl(c.get(), F_DUPFD_CLOEXEC, 0));
        int before = fcntl(blocking.get(), F_GETFL);
        job.service_id = 1;
        auto f = engine.jobs->start(1, job, engine.service.get(), std::move(blocking), noop);
        REQUIRE(f.has_value());
        CHECK(f->reason == ipc::FailReason::internal);
        CHECK(fcntl(c.get(), F_GETFL) == before);
    }
    SECTION("a fd that is not a socket is refused") {
        int p[2];
        REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
        UniqueFd rd(p[0]), wr(p[1]);
        job.service_id = 1;
        auto f = engine.jobs->start(1, job, engine.service.get(), std::move(rd), noop);
        REQUIRE(f.has_value());
        CHECK(f->reason == ipc::FailReason::internal);
        CHECK(f->detail == "the lent fd is not a socket");
    }
    SECTION("a job for the client role on a server service") {
        auto [c, s] = tcp_pair();
        job.service_id = 1;
        job.role = ipc::TlsRole::client;
        auto f = engine.jobs->start(1, job, engine.service.get(), std::move(s), noop);
        REQUIRE(f.has_value());
        CHECK(f->reason == ipc::FailReason::internal);
        CHECK(f->detail.find("job role client, service role server") != std::string::npos);
    }
}

TEST_CASE("cryptoproc: a first record already in the socket is read as the job starts",
          "[cryptoproc]") {
    // netproc lends the socket once the whole first record is there: the
    // helper answers it inside start(), with no loop turn in between (here
    // the answer to bytes that are not TLS: a failure, and no alert).
    Engine engine(both_keys());
    auto [c, s] = tcp_pair();
    const char http[] = "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";
    REQUIRE(send(c.get(), http, sizeof http - 1, 0) == static_cast<ssize_t>(sizeof http - 1));
    pollfd arrived{s.get(), POLLIN, 0};
    REQUIRE(poll(&arrived, 1, 5000) == 1);
    engine.lend(1, s.get());
    REQUIRE(engine.results.count(1) == 1);
    const auto& f = failed_of(engine.results.at(1));
    CAPTURE(f.detail);
    CHECK(f.reason == ipc::FailReason::io_error);
    CHECK(f.detail.find("peer does not speak TLS") != std::string::npos);
    CHECK(engine.jobs->in_flight() == 0);
    // Nothing was sent back, and the socket is still netproc's to close.
    uint8_t buf[16];
    CHECK(recv(c.get(), buf, sizeof buf, MSG_DONTWAIT) < 0);
    CHECK(errno == EAGAIN);
    CHECK((fcntl(s.get(), F_GETFL) & O_NONBLOCK) != 0);
}

TEST_CASE("cryptoproc: aborted jobs get no reply and release their fd", "[cryptoproc]") {
    Engine engine(both_keys());
    auto [c, s] = tcp_pair();
    ClientOptions o;
    o.behaviour = Behaviour::stall_after_hello;
    TestClient client(std::move(c), o);
    engine.lend(1, s.get());
    engine.loop.run_until([] { return false; }, 100);
    REQUIRE(engine.jobs->in_flight() == 1);
    engine.jobs->abort_all();
    engine.loop.run_until([] { return false; }, 50);
    CHECK(engine.results.empty());
    CHECK(engine.jobs->counters().aborted == 1);
    client.join();
}

TEST_CASE("FdWatch: an error stops the watch, forgets its interest, ends a wait for the peer",
          "[cryptoproc][poller]") {
    TestLoop loop;
    auto p = FdPoller::create(loop.get());
    REQUIRE(p.ok());
    {
        auto [c, s] = tcp_pair();
        linger l{1, 0};
        REQUIRE(setsockopt(c.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
        c.reset();  // the peer resets: s holds ECONNRESET
        int calls = 0;
        int last_status = 0;
        FdWatch w(**p, s.get(), [&](int status, int) {
            ++calls;
            last_status = status;
        });
        REQUIRE(w.set_events(UV_READABLE));
        REQUIRE(loop.run_until([&] { return calls == 1; }, 2000));
        CHECK(last_status == UV_EBADF);
        CHECK(w.events() == 0);  // stopped: a later set_events registers again
        REQUIRE(w.set_events(UV_READABLE));
        REQUIRE(loop.run_until([&] { return calls == 2; }, 2000));  // the error is still there
        int soerr = 0;
        socklen_t len = sizeof soerr;
        REQUIRE(getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) == 0);
        CHECK(soerr == ECONNRESET);  // what the status stood for
    }
    {
        // A watch for the peer's end (netproc's wait for a ClientHello) hears
        // of a reset as the end, even with unread bytes in the socket.
        auto [c, s] = tcp_pair();
        REQUIRE(send(c.get(), "half a hello", 12, 0) == 12);
        linger l{1, 0};
        REQUIRE(setsockopt(c.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
        int got_events = -1;
        int got_status = 0;
        FdWatch w(**p, s.get(), [&](int status, int events) {
            got_status = status;
            got_events = events;
        });
        REQUIRE(w.set_events(UV_READABLE | UV_DISCONNECT, /*edge=*/true));
        REQUIRE(loop.run_until([&] { return got_events == UV_READABLE; }, 2000));
        c.reset();
        REQUIRE(loop.run_until([&] { return got_status < 0; }, 2000));
        CHECK(got_status == UV_EBADF);
        CHECK(got_events == UV_DISCONNECT);
    }
    p->reset();
    CHECK(loop.close() == 0);
}
