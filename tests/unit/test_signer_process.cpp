// The real tlsward-signer, started on a socketpair as the supervisor will
// start it: it takes keys over its control channel, signs for remote-key
// handshakes over a helper channel (the whole path: provider, async pause,
// batching, the signer's shape check, its signature verified by an OpenSSL
// peer), and cuts off a helper that asks for anything else.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "cryptoproc/signer_client.hpp"
#include "ipc/channel.hpp"
#include "ipc/messages.hpp"
#include "ipc/sign_messages.hpp"
#include "signer/key_store.hpp"
#include "test_remote_key_support.hpp"

using namespace tlsward;

namespace {

// Waits for one message on a blocking-or-not channel end.
std::optional<ipc::Message> receive(int fd, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        auto r = ipc::recv_frame(fd);
        if (!r || !r.value()) return std::nullopt;  // closed, or nothing after all
        return std::move(*r.value());
    }
}

// Whether the peer closed a channel within the time.
bool closed_by_peer(int fd, int timeout_ms = 5000) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    auto r = ipc::recv_frame(fd);
    return !r && r.kind() == ErrorKind::peer_closed;
}

template <class T>
void send(int fd, const T& m, int pass_fd = -1) {
    auto body = ipc::encode_body(m);
    REQUIRE(body);
    auto r = ipc::send_frame(fd, T::kType, 0, body.value(), pass_fd);
    REQUIRE(r);
}

class SignerProcess {
public:
    explicit SignerProcess(uint64_t burst = 65536) {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair);
        control_ = std::move(pair->first);
        UniqueFd theirs = std::move(pair->second);
        std::string parent = std::to_string(getpid());
        std::string exe = std::string(TLSWARD_BUILD_DIR) + "/tlsward-signer";
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            if (dup2(theirs.get(), 3) != 3) _exit(126);
            execl(exe.c_str(), "tlsward: signer", "--slot", "0", "--generation", "1",
                  "--parent-pid", parent.c_str(), "--log-level", "warn", nullptr);
            _exit(127);
        }
        burst_ = burst;
    }
    ~SignerProcess() {
        if (pid_ > 0) {
            ipc::Shutdown s;
            (void)ipc::send_frame(control_.get(), ipc::MsgType::shutdown, 0,
                                  ipc::encode_body(s).value());
            for (int i = 0; i < 200 && waitpid(pid_, &status_, WNOHANG) == 0; ++i) usleep(10000);
            if (waitpid(pid_, &status_, WNOHANG) == 0) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status_, 0);
            }
        }
    }

    void add_key(uint64_t id, const cptest::Credentials& c, uint8_t kinds = ipc::kServerKinds) {
        ipc::SgKey k;
        k.key_id = id;
        k.kinds = kinds;
        k.key = SecretBytes(as_bytes(c.key_pem));
        send(control_.get(), k);
    }
    void configure() {
        ipc::SgConfig c;
        c.generation = 1;
        c.rate = 100000;
        c.burst = burst_;
        send(control_.get(), c);
        auto ready = receive(control_.get());
        REQUIRE(ready);
        REQUIRE(ready->type() == ipc::MsgType::ready);
        auto r = ipc::decode_message<ipc::Ready>(*ready);
        REQUIRE(r);
        CHECK(r->role == ipc::ProcessRole::signer);
    }
    // A new helper channel; returns the helper's end.
    UniqueFd helper_channel(uint32_t slot) {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair);
        send(control_.get(), ipc::SgHelperChannel{slot, 1}, pair->second.get());
        return std::move(pair->first);
    }
    int control() const { return control_.get(); }
    pid_t pid() const { return pid_; }

private:
    UniqueFd control_;
    pid_t pid_ = -1;
    int status_ = 0;
    uint64_t burst_ = 65536;
};

ipc::SignRequest cv_request(uint64_t id, uint64_t key, std::vector<uint8_t> message,
                            uint16_t scheme = 0x0403) {
    ipc::SignRequest q;
    q.id = id;
    q.key_id = key;
    q.kind = ipc::SignKind::tls13_server_certificate_verify;
    q.scheme = scheme;
    q.message = std::move(message);
    return q;
}

std::vector<uint8_t> cv_input(const std::string& who) {
    std::vector<uint8_t> m(64, 0x20);
    std::string context = "TLS 1.3, " + who + " CertificateVerify";
    m.insert(m.end(), context.begin(), context.end());
    m.push_back(0);
    m.insert(m.end(), 32, 0xcd);
    return m;
}

bool verifies(const cptest::Credentials& c, std::span<const uint8_t> m,
              std::span<const uint8_t> sig) {
    cryptoproc::EvpPkeyPtr key = rktest::private_key(c);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok =
        EVP_DigestVerifyInit_ex(md, nullptr, "SHA256", nullptr, nullptr, key.get(), nullptr) == 1 &&
        EVP_DigestVerify(md, sig.data(), sig.size(), m.data(), m.size()) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

// Runs `count` remote-key handshakes of one service through the client,
// all at once, on the loop; returns how many completed.
int run_handshakes(cptest::TestLoop& loop, cryptoproc::ServiceContext& svc, SSL_CTX* peer,
                   int count, uint64_t* peer_ns = nullptr) {
    std::vector<std::unique_ptr<rktest::HandshakePair>> pairs;
    for (int i = 0; i < count; ++i) {
        pairs.push_back(std::make_unique<rktest::HandshakePair>(svc.ctx.get(), peer, true));
        rktest::HandshakePair* p = pairs.back().get();
        p->slot().wake = [p] { p->pump(); };
        p->pump();
    }
    auto done = [&] {
        int n = 0;
        for (auto& p : pairs) n += p->done() && SSL_get_verify_result(p->peer()) == X509_V_OK;
        return n;
    };
    auto failed = [&] {
        for (auto& p : pairs)
            if (p->failed()) return true;
        return false;
    };
    loop.run_until([&] { return done() == count || failed(); }, 60000);
    for (auto& p : pairs) {
        if (p->failed()) WARN(p->failure());
        if (peer_ns) *peer_ns += p->peer_ns();
    }
    return done();
}

uint64_t ns_on_cpu(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/schedstat");
    uint64_t ns = 0;
    f >> ns;
    return ns;
}

uint64_t self_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

TEST_CASE("signer process: signs remote-key handshakes over a helper channel", "[signer]") {
    const cptest::Credentials& ec = rktest::credentials("P-256");
    const cptest::Credentials& rsa = rktest::credentials("RSA");
    SignerProcess signer;
    signer.add_key(1, ec);
    signer.add_key(2, rsa);
    signer.configure();

    cptest::TestLoop loop;
    {
        Error failure;
        cryptoproc::SignerClient client(loop.get(), signer.helper_channel(0),
                                        [&](const Error& e) { failure = e; });
        cryptoproc::set_remote_signer(&client);
        for (auto [creds, id, version] :
             {std::tuple{&ec, 1, TLS1_3_VERSION}, std::tuple{&rsa, 2, TLS1_3_VERSION},
              std::tuple{&ec, 1, TLS1_2_VERSION}, std::tuple{&rsa, 2, TLS1_2_VERSION}}) {
            auto svc = cryptoproc::build_service_context(rktest::remote_server_spec(*creds, id));
            REQUIRE(svc);
            auto peer = rktest::peer_client_ctx(*creds, version);
            uint64_t batches = client.batches_sent();
            CHECK(run_handshakes(loop, **svc, peer.get(), 8) == 8);
            // The eight requests queued in one turn went out as one batch.
            CHECK(client.batches_sent() == batches + 1);
        }
        CHECK(client.in_flight() == 0);
        CHECK_FALSE(client.failed());
        cryptoproc::set_remote_signer(nullptr);
    }
    loop.close();
}

TEST_CASE("signer process: a helper asking for anything else is cut off", "[signer]") {
    const cptest::Credentials& ec = rktest::credentials("P-256");
    SignerProcess signer(64);
    signer.add_key(1, ec);
    signer.configure();

    auto expect_cut = [&](int fd, const std::string& why) {
        CHECK(closed_by_peer(fd));
        auto cut = receive(signer.control());
        REQUIRE(cut);
        REQUIRE(cut->type() == ipc::MsgType::sg_helper_cut);
        auto m = ipc::decode_message<ipc::SgHelperCut>(*cut);
        REQUIRE(m);
        INFO(m->reason);
        CHECK(m->reason.find(why) != std::string::npos);
    };

    UniqueFd good = signer.helper_channel(1);
    SECTION("a raw digest") {
        UniqueFd bad = signer.helper_channel(2);
        send(bad.get(), ipc::SignBatch{{cv_request(1, 1, std::vector<uint8_t>(32, 7))}});
        expect_cut(bad.get(), "not a TLS 1.3 server CertificateVerify input");
    }
    SECTION("the client's context string on a server key") {
        UniqueFd bad = signer.helper_channel(2);
        auto q = cv_request(1, 1, cv_input("client"));
        send(bad.get(), ipc::SignBatch{{q}});
        expect_cut(bad.get(), "wrong context string");
    }
    SECTION("TLS 1.2 parameters of a group tlsward does not offer") {
        UniqueFd bad = signer.helper_channel(2);
        auto q = cv_request(1, 1, std::vector<uint8_t>(64, 1));
        q.kind = ipc::SignKind::tls12_server_key_exchange;
        for (uint8_t b : {3, 0, 25, 133}) q.message.push_back(b);
        q.message.resize(q.message.size() + 133, 4);
        send(bad.get(), ipc::SignBatch{{q}});
        expect_cut(bad.get(), "group 25 is not one tlsward offers");
    }
    SECTION("a burst over the rate cap") {
        UniqueFd bad = signer.helper_channel(2);
        ipc::SignBatch batch;
        for (uint64_t i = 1; i <= 65; ++i)
            batch.requests.push_back(cv_request(i, 1, cv_input("server")));
        send(bad.get(), batch);
        expect_cut(bad.get(), "over the rate cap");
    }
    SECTION("a message of another type") {
        UniqueFd bad = signer.helper_channel(2);
        send(bad.get(), ipc::Ping{1});
        expect_cut(bad.get(), "PING is not a message for the signer");
    }

    // The other helper is served all along; an unknown key id is answered,
    // not punished (a reload may race a handshake).
    std::vector<uint8_t> m = cv_input("server");
    send(good.get(), ipc::SignBatch{{cv_request(1, 1, m), cv_request(2, 99, m)}});
    auto answer = receive(good.get());
    REQUIRE(answer);
    auto a = ipc::decode_message<ipc::SignAnswers>(*answer);
    REQUIRE(a);
    REQUIRE(a->answers.size() == 2);
    CHECK(a->answers[0].status == ipc::SignStatus::ok);
    CHECK(verifies(ec, m, a->answers[0].signature));
    CHECK(a->answers[1].status == ipc::SignStatus::unknown_key);
}

// Not run by default: `unit_tests "[.bench]"`. The CPU the hop costs per
// full handshake: the same handshakes with the key in the SSL_CTX and with
// the key in the signer, this process's CPU (both TLS peers) plus the
// signer's (which now makes the signature) against this process's alone.
// The signature by itself is printed for scale.
TEST_CASE("signer process: CPU per signature of the hop", "[.][bench]") {
    // Waves of 16 handshakes at once, as a helper with 16 jobs would batch.
    const int waves = 200;
    const int wave = 16;
    const int n = waves * wave;
    const cptest::Credentials& ec = rktest::credentials("P-256");
    auto peer = rktest::peer_client_ctx(ec, TLS1_3_VERSION);
    cptest::TestLoop loop;
    // This process's CPU minus the OpenSSL client's: the helper's side.
    auto helper_side = [&](cryptoproc::ServiceContext& svc) {
        uint64_t peer_ns = 0;
        uint64_t t0 = self_cpu_ns();
        for (int i = 0; i < waves; ++i)
            REQUIRE(run_handshakes(loop, svc, peer.get(), wave, &peer_ns) == wave);
        return self_cpu_ns() - t0 - peer_ns;
    };

    auto local = cryptoproc::build_service_context(cptest::server_spec(1, "local", {&ec}));
    REQUIRE(local);
    uint64_t local_ns = helper_side(**local);

    // The signature alone, as the signer makes it.
    signer::KeyStore keys;
    REQUIRE(signer::KeyStore::prefetch());
    SecretBytes pem(as_bytes(ec.key_pem));
    REQUIRE(keys.add(1, ipc::kServerKinds, pem));
    std::vector<uint8_t> m = cv_input("server");
    uint64_t t0 = self_cpu_ns();
    for (int i = 0; i < n; ++i) REQUIRE(keys.sign(1, *ipc::find_scheme(0x0403), m));
    uint64_t sign_ns = self_cpu_ns() - t0;

    SignerProcess signer;
    signer.add_key(1, ec);
    signer.configure();
    cryptoproc::SignerClient client(loop.get(), signer.helper_channel(0), nullptr);
    cryptoproc::set_remote_signer(&client);
    auto remote = cryptoproc::build_service_context(rktest::remote_server_spec(ec, 1));
    REQUIRE(remote);
    uint64_t s0 = ns_on_cpu(signer.pid());
    uint64_t remote_ns = helper_side(**remote);
    uint64_t signer_ns = ns_on_cpu(signer.pid()) - s0;
    cryptoproc::set_remote_signer(nullptr);

    auto us = [&](double ns) { return ns / 1000.0 / n; };
    std::printf(
        "handshakes=%d batches=%llu | helper side: local key %.1f us, remote key %.1f us | "
        "signer %.1f us, of which the signature %.1f us | hop (remote + signer - local) "
        "%.1f us per handshake\n",
        n, static_cast<unsigned long long>(client.batches_sent()), us(local_ns), us(remote_ns),
        us(signer_ns), us(sign_ns),
        us(static_cast<double>(remote_ns) + static_cast<double>(signer_ns) -
           static_cast<double>(local_ns)));
}
