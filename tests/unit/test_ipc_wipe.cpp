// IPC buffers that carry secrets (certificate keys, ticket keys, traffic
// secrets) leave no copy behind in freed memory: not when the encoder's
// buffer grows, not in a channel's send queue, not in the buffer a
// received message lands in, not in a copy made while decoding.
//
// The proof watches every block the program frees through operator
// delete (std::vector, std::string, SecretBytes all free that way) while a
// secret travels, and counts the blocks that still hold a piece of it. It
// replaces operator delete for the whole unit-test binary: the
// replacement only looks (when a test is watching) and then hands the
// block to the operator delete it replaced (libstdc++'s, or the
// sanitizer's in the ASan build), so allocation checks are unchanged.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <malloc.h>
#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "common/secret.hpp"
#include "ipc/channel.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"
#include "ipc/uv_channel.hpp"

namespace {

// A piece of every secret the tests send; nothing else in the program
// holds these bytes.
constexpr std::array<uint8_t, 12> kMarker = {0xd3, 0x1f, 0x77, 0x0b, 0xe8, 0x5c,
                                             0x42, 0x99, 0xa6, 0x3d, 0xc1, 0x6e};

thread_local bool g_watching = false;
thread_local size_t g_blocks_with_secret = 0;

void inspect_freed(void* p, size_t n) {
    if (!g_watching || p == nullptr || n < kMarker.size()) return;
    if (memmem(p, n, kMarker.data(), kMarker.size()) != nullptr) ++g_blocks_with_secret;
}

template <class F>
F next_symbol(const char* name) {
    void* f = dlsym(RTLD_NEXT, name);
    if (f == nullptr) std::abort();
    return reinterpret_cast<F>(f);
}

// Secret bytes: the marker over and over, `n` bytes of it.
std::vector<uint8_t> secret_pattern(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = kMarker[i % kMarker.size()];
    return v;
}

tlsward::SecretBytes secret(size_t n) {
    std::vector<uint8_t> v = secret_pattern(n);
    tlsward::SecretBytes s{std::span<const uint8_t>(v)};
    OPENSSL_cleanse(v.data(), v.size());
    return s;
}

// Watches the frees of everything `run` does; returns how many freed
// blocks still held a piece of a secret.
template <class F>
size_t blocks_left_with_secret(F&& run) {
    g_blocks_with_secret = 0;
    g_watching = true;
    run();
    g_watching = false;
    return g_blocks_with_secret;
}

}  // namespace

// The replacements (the sized form is what std::allocator uses).
void operator delete(void* p) noexcept {
    static const auto next = next_symbol<void (*)(void*)>("_ZdlPv");
    if (p != nullptr) inspect_freed(p, malloc_usable_size(p));
    next(p);
}

void operator delete(void* p, std::size_t n) noexcept {
    static const auto next = next_symbol<void (*)(void*, std::size_t)>("_ZdlPvm");
    inspect_freed(p, n);
    next(p, n);
}

using namespace tlsward;
using namespace tlsward::ipc;

namespace {

CpCertificate certificate_message() {
    CpCertificate m;
    m.service_id = 3;
    m.chain_pem = "-----BEGIN CERTIFICATE-----\n" + std::string(1500, 'C') + "\n";
    m.key_pem = secret(1700);  // about an RSA-2048 key in PEM
    m.names = {"www.example.com", "example.com", "*.example.org"};
    m.ocsp_der.assign(2000, 0x30);  // written after the key: the buffer grows past it
    return m;
}

CpTicketKeys ticket_keys_message() {
    CpTicketKeys k;
    for (int i = 0; i < 6; ++i) k.keys.push_back(secret(i % 2 ? kTicketKeyLong : kTicketKeyShort));
    k.encrypt_index = 2;
    return k;
}

HandshakeDone handshake_done_message() {
    HandshakeDone d;
    d.conn_id = 9;
    d.tls_version = 0x0304;
    d.cipher_suite = 0x1302;  // 48-byte secrets
    d.client_secret = secret(48);
    d.server_secret = secret(48);
    d.alpn = "h2";
    d.sni = "www.example.com";
    d.peer_identity = "CN=client";
    d.leftover.assign(5000, 0x17);  // after the secrets: the buffer grows past them
    return d;
}

// Encodes m, sends it over a socketpair, receives and decodes it, and
// checks the secret arrived; everything is freed before this returns.
template <class T, class Check>
void send_and_receive(const T& m, Check check) {
    auto pair = make_channel_pair();
    REQUIRE(pair.ok());
    {
        auto body = encode_body(m);
        REQUIRE(body.ok());
        auto sent = send_frame(pair.value().first.get(), T::kType, 1, body.value());
        REQUIRE(sent.ok());
    }
    auto got = recv_frame(pair.value().second.get());
    REQUIRE(got.ok());
    REQUIRE(got.value().has_value());
    auto back = decode_message<T>(*got.value());
    REQUIRE(back.ok());
    check(back.value());
}

}  // namespace

TEST_CASE("the leak detector sees a secret left in a freed buffer", "[ipc][wipe]") {
    // The test of the tests: a std::vector that grows with a secret in it
    // (what encode_body did) leaves it behind, and is counted.
    size_t left = blocks_left_with_secret([] {
        std::vector<uint8_t> v;
        std::vector<uint8_t> s = secret_pattern(64);
        v.insert(v.end(), s.begin(), s.end());
        for (int i = 0; i < 4096; ++i) v.push_back(0);
        OPENSSL_cleanse(v.data(), v.size());
        OPENSSL_cleanse(s.data(), s.size());
    });
    CHECK(left > 0);
    // ... and a SecretBytes leaves nothing.
    CHECK(blocks_left_with_secret([] { SecretBytes s = secret(64); }) == 0);
}

TEST_CASE("CP_CERTIFICATE's key leaves no copy in freed memory", "[ipc][wipe]") {
    size_t left = blocks_left_with_secret([] {
        CpCertificate m = certificate_message();
        send_and_receive(m, [&](const CpCertificate& back) {
            CHECK(secret_equal(back.key_pem.view(), m.key_pem.view()));
        });
    });
    CHECK(left == 0);
}

TEST_CASE("CP_TICKET_KEYS leave no copy in freed memory", "[ipc][wipe]") {
    size_t left = blocks_left_with_secret([] {
        CpTicketKeys k = ticket_keys_message();
        send_and_receive(k, [&](const CpTicketKeys& back) {
            REQUIRE(back.keys.size() == k.keys.size());
            CHECK(secret_equal(back.keys[5].view(), k.keys[5].view()));
        });
    });
    CHECK(left == 0);
}

TEST_CASE("HANDSHAKE_DONE's traffic secrets leave no copy in freed memory", "[ipc][wipe]") {
    size_t left = blocks_left_with_secret([] {
        HandshakeDone d = handshake_done_message();
        send_and_receive(d, [&](const HandshakeDone& back) {
            CHECK(secret_equal(back.client_secret.view(), d.client_secret.view()));
        });
    });
    CHECK(left == 0);
}

TEST_CASE("a secret queued in a uv channel leaves no copy in freed memory", "[ipc][wipe]") {
    uv_loop_t loop;
    uv_loop_init(&loop);
    size_t left = blocks_left_with_secret([&] {
        auto pair = make_channel_pair();
        REQUIRE(pair.ok());
        auto& [a, b] = pair.value();
        int small = 4096;
        setsockopt(a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        size_t keys_received = 0;
        UvChannel sender(
            &loop, std::move(a), "sender", [](Message&&) {}, [](const Error&) {});
        UvChannel receiver(
            &loop, std::move(b), "receiver",
            [&](Message&& m) {
                if (m.type() != MsgType::cp_ticket_keys) return;
                auto k = decode_message<CpTicketKeys>(m);
                REQUIRE(k.ok());
                ++keys_received;
            },
            [](const Error&) {});
        // Fill the socket so that what follows waits in the send queue.
        for (uint64_t i = 0; sender.queued() == 0 && i < 100000; ++i)
            REQUIRE(sender.send(MsgType::ping, i, encode_body(Ping{i})));
        REQUIRE(sender.queued() > 0);
        CpTicketKeys k = ticket_keys_message();
        for (int i = 0; i < 3; ++i)
            REQUIRE(sender.send(MsgType::cp_ticket_keys, 0, encode_body(k)));
        for (int i = 0; i < 10000 && keys_received < 3; ++i) uv_run(&loop, UV_RUN_ONCE);
        CHECK(keys_received == 3);
    });
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(uv_loop_close(&loop) == 0);
    CHECK(left == 0);
}
