// IPC bodies: every message type survives a round trip, and malformed
// bodies are refused with an error naming the message.
#include <catch2/catch.hpp>

#include "common/tls_suites.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"

using namespace tlsward;
using namespace tlsward::ipc;

namespace {

template <class T>
T round_trip(const T& m) {
    auto body = encode_body(m).value();
    auto back = decode_body<T>(body);
    REQUIRE(back.ok());
    return std::move(back.value());
}

HandshakeDone sample_done() {
    HandshakeDone d;
    d.conn_id = 77;
    d.helper_generation = 3;
    d.tls_version = kTls13;
    d.cipher_suite = 0x1302;  // AES-256-GCM-SHA384: 48-byte secrets
    d.client_seq = 0;
    d.server_seq = 2;
    d.max_plaintext = 4096;
    d.client_secret = SecretBytes(48);
    d.server_secret = SecretBytes(48);
    for (size_t i = 0; i < 48; ++i) {
        d.client_secret.data()[i] = static_cast<uint8_t>(i);
        d.server_secret.data()[i] = static_cast<uint8_t>(0xff - i);
    }
    d.alpn = "h2";
    d.sni = "example.test";
    d.peer_identity = "CN=client";
    d.leftover = {0x17, 0x03, 0x03, 0x00, 0x01, 0xaa};
    return d;
}

}  // namespace

TEST_CASE("every control message round-trips", "[ipc]") {
    auto ready = round_trip(Ready{ProcessRole::cryptoproc, 7, 3});
    CHECK(ready.role == ProcessRole::cryptoproc);
    CHECK(ready.generation == 7);
    CHECK(ready.slot == 3);
    CHECK(round_trip(Ping{99}).seq == 99);
    CHECK(round_trip(Pong{98}).seq == 98);
    CHECK(round_trip(Shutdown{30000}).drain_ms == 30000);

    NpService s;
    s.id = 4;
    s.name = "web";
    s.mode = TlsRole::server;
    s.target = parse_numeric_address("[::1]:8080").value();
    s.handshake_timeout_ms = 1234;
    s.connect_timeout_ms = 5678;
    s.idle_timeout_ms = 91011;
    auto s2 = round_trip(s);
    CHECK(s2.id == 4);
    CHECK(s2.name == "web");
    CHECK(s2.target.to_string() == "[::1]:8080");
    CHECK(s2.handshake_timeout_ms == 1234);
    CHECK(s2.connect_timeout_ms == 5678);
    CHECK(s2.idle_timeout_ms == 91011);

    auto l = round_trip(NpListener{4, parse_numeric_address("127.0.0.1:8443").value()});
    CHECK(l.service_id == 4);
    CHECK(l.address.to_string() == "127.0.0.1:8443");
    auto h = round_trip(NpHelper{2, 5});
    CHECK(h.slot == 2);
    CHECK(h.generation == 5);
    auto nd = round_trip(NpConfigDone{5, 100, 10});
    CHECK(nd.generation == 5);
    CHECK(nd.handshake_queue_limit == 100);
    CHECK(nd.max_jobs_per_helper == 10);

    NpStatus st;
    st.seq = 12;
    st.generation = 3;
    st.connections_open = 50;
    st.connections_total = 1000;
    st.handshakes_ok = 990;
    st.handshakes_failed = 10;
    st.refused = 2;
    st.handshakes_queued = 4;
    st.handshakes_in_flight = 6;
    st.helpers = 2;
    st.bytes_from_tls = 1ULL << 33;
    st.bytes_to_tls = 7;
    st.services = {{4, 3, 9, 8, 1, 100, 200}, {7, 0, 0, 0, 0, 0, 0}};
    auto st2 = round_trip(st);
    REQUIRE(st2.services.size() == 2);
    CHECK(st2.services[0].service_id == 4);
    CHECK(st2.services[0].handshakes_failed == 1);
    CHECK(st2.services[0].bytes_to_tls == 200);
    CHECK(st2.services[1].service_id == 7);
    CHECK(st2.seq == 12);
    CHECK(st2.generation == 3);
    CHECK(st2.connections_open == 50);
    CHECK(st2.connections_total == 1000);
    CHECK(st2.handshakes_ok == 990);
    CHECK(st2.handshakes_failed == 10);
    CHECK(st2.refused == 2);
    CHECK(st2.handshakes_queued == 4);
    CHECK(st2.handshakes_in_flight == 6);
    CHECK(st2.helpers == 2);
    CHECK(st2.bytes_from_tls == 1ULL << 33);
    CHECK(st2.bytes_to_tls == 7);
    CHECK(round_trip(NpRetired{9}).generation == 9);
    auto hf = round_trip(NpHelperFailed{3, 7, "malformed HANDSHAKE_DONE"});
    CHECK((hf.slot == 3 && hf.generation == 7 && hf.reason == "malformed HANDSHAKE_DONE"));
    {
        auto addr = parse_numeric_address("127.0.0.1:9100");
        REQUIRE(addr.ok());
        CHECK(round_trip(NpMetricsListener{addr.value()}).address.to_string() == "127.0.0.1:9100");
        NpSupervisorStats st{4, 3, 1, 2, 0, 10, 5, 1, 700};
        NpSupervisorStats back = round_trip(st);
        CHECK(back.generation == 4);
        CHECK(back.reloads_failed == 1);
        CHECK(back.helper_restarts == 2);
        CHECK(back.helper_handshakes_failed == 5);
        CHECK(back.helper_handshake_ms == 700);
        Pong p{5, 10, 2, 1, 33};
        CHECK(round_trip(p).handshake_ms == 33);
    }

    auto cs = round_trip(CpService{4, "web", TlsRole::server, 2000});
    CHECK(cs.name == "web");
    CHECK(cs.handshake_timeout_ms == 2000);
    CpCertificate cert;
    cert.service_id = 4;
    cert.chain_pem = "-----BEGIN CERTIFICATE-----\n...";
    cert.key_pem = SecretBytes(as_bytes("-----BEGIN PRIVATE KEY-----\n..."));
    auto cert2 = round_trip(cert);
    CHECK(cert2.chain_pem == cert.chain_pem);
    CHECK(secret_equal(cert2.key_pem.view(), cert.key_pem.view()));
    CHECK(round_trip(CpConfigDone{5, 1}).slot == 1);
    round_trip(CpNetprocChannel{});

    HandshakeJob job;
    job.conn_id = 1ULL << 40;
    job.service_id = 9;
    job.role = TlsRole::client;
    job.deadline_ms = 10000;
    job.aead_mask = kAeadChaCha20Poly1305;
    job.server_name = "backend.example";
    auto job2 = round_trip(job);
    CHECK(job2.conn_id == job.conn_id);
    CHECK(job2.role == TlsRole::client);
    CHECK(job2.aead_mask == kAeadChaCha20Poly1305);
    CHECK(job2.server_name == "backend.example");

    auto f = round_trip(HandshakeFailed{FailReason::alert_sent, 40, "no shared cipher"});
    CHECK(f.reason == FailReason::alert_sent);
    CHECK(f.alert == 40);
    CHECK(f.detail == "no shared cipher");
}

TEST_CASE("HANDSHAKE_DONE round-trips with its secrets", "[ipc]") {
    HandshakeDone d = sample_done();
    auto back = round_trip(d);
    CHECK(back.conn_id == 77);
    CHECK(back.helper_generation == 3);
    CHECK(back.tls_version == kTls13);
    CHECK(back.cipher_suite == 0x1302);
    CHECK(back.server_seq == 2);
    CHECK(back.max_plaintext == 4096);
    CHECK(secret_equal(back.client_secret.view(), d.client_secret.view()));
    CHECK(secret_equal(back.server_secret.view(), d.server_secret.view()));
    CHECK(back.alpn == "h2");
    CHECK(back.sni == "example.test");
    CHECK(back.peer_identity == "CN=client");
    CHECK(back.leftover == d.leftover);
}

TEST_CASE("HANDSHAKE_DONE refuses what a record layer could not run", "[ipc]") {
    auto refused = [](HandshakeDone d) {
        auto body = encode_body(d).value();
        return !decode_body<HandshakeDone>(body).ok();
    };
    {
        HandshakeDone d = sample_done();
        d.cipher_suite = 0x009C;  // RSA key exchange, not ours
        CHECK(refused(std::move(d)));
    }
    {
        HandshakeDone d = sample_done();
        d.tls_version = kTls12;  // a TLS 1.3 suite with version 1.2
        CHECK(refused(std::move(d)));
    }
    {
        HandshakeDone d = sample_done();
        d.client_secret = SecretBytes(32);  // wrong length for SHA-384
        CHECK(refused(std::move(d)));
    }
    {
        HandshakeDone d = sample_done();
        d.max_plaintext = 20000;
        CHECK(refused(std::move(d)));
    }
    {
        HandshakeDone d = sample_done();
        d.leftover.assign(kMaxLeftover + 1, 0);
        CHECK(refused(std::move(d)));
    }
    {
        // A future format is not guessed at.
        auto body = encode_body(sample_done()).value();
        body[0] = kHandoffFormat + 1;
        CHECK_FALSE(decode_body<HandshakeDone>(body).ok());
    }
}

TEST_CASE("malformed bodies are refused and named", "[ipc]") {
    SECTION("truncated") {
        auto body = encode_body(NpHelper{1, 2}).value();
        body.pop_back();
        auto r = decode_body<NpHelper>(body);
        REQUIRE_FALSE(r.ok());
        CHECK(r.message() == "NP_HELPER: malformed body (7 bytes)");
    }
    SECTION("trailing bytes") {
        auto body = encode_body(Ping{1}).value();
        body.push_back(0);
        CHECK_FALSE(decode_body<Ping>(body).ok());
    }
    SECTION("out-of-range enum") {
        auto body = encode_body(Ready{ProcessRole::netproc, 1, 0}).value();
        body[0] = 9;
        CHECK_FALSE(decode_body<Ready>(body).ok());
        auto job = encode_body(HandshakeJob{}).value();
        job[1 + 8 + 4] = 5;  // role
        CHECK_FALSE(decode_body<HandshakeJob>(job).ok());
    }
    SECTION("NP_STATUS with more connections open than ever accepted") {
        NpStatus st;
        st.connections_open = 2;
        st.connections_total = 1;
        CHECK_FALSE(decode_body<NpStatus>(encode_body(st).value()).ok());
    }
    SECTION("AEAD mask outside the known bits, or empty") {
        HandshakeJob j;
        j.aead_mask = 0;
        CHECK_FALSE(decode_body<HandshakeJob>(encode_body(j).value()).ok());
        j.aead_mask = 0x08;
        CHECK_FALSE(decode_body<HandshakeJob>(encode_body(j).value()).ok());
    }
    SECTION("string length beyond the body") {
        auto body = encode_body(CpService{1, "web", TlsRole::server, 1}).value();
        body[5] = 0xff;  // name length high byte
        CHECK_FALSE(decode_body<CpService>(body).ok());
    }
    SECTION("socket address of an unknown family") {
        auto body =
            encode_body(NpListener{1, parse_numeric_address("127.0.0.1:1").value()}).value();
        body[6] = 0x7f;  // sa_family low byte (little-endian host)
        CHECK_FALSE(decode_body<NpListener>(body).ok());
    }
    SECTION("wrong message type for the decoder") {
        Message m;
        m.header.type = MsgType::ping;
        m.body = encode_body(Ping{1}).value();
        auto r = decode_message<Pong>(m);
        REQUIRE_FALSE(r.ok());
        CHECK(r.message() == "expected PONG, got PING");
    }
}
