// The remote key route on this machine's OpenSSL (docs/internals.md, "The
// signer"): an SSL_CTX whose private key is in the signer. The signature
// pauses the handshake (SSL_ERROR_WANT_ASYNC), other handshakes go on, and
// the signature, made later with the real key, completes it; the peer is
// an ordinary OpenSSL that verifies it.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "common/openssl_error.hpp"
#include "common/sandbox.hpp"
#include "cryptoproc/remote_key.hpp"
#include "cryptoproc/sandbox_policy.hpp"
#include "test_remote_key_support.hpp"

using namespace tlsward;
using cryptoproc::EvpPkeyPtr;

namespace {

// Holds every request until the test answers it.
struct FakeSigner final : cryptoproc::RemoteSigner {
    struct Request {
        uint64_t ticket = 0;
        uint64_t key_id = 0;
        ipc::SignKind kind{};
        uint16_t scheme = 0;
        std::vector<uint8_t> message;
        Done done;
        bool cancelled = false;
    };
    std::vector<Request> requests;
    uint64_t next = 1;

    FakeSigner() { cryptoproc::set_remote_signer(this); }
    ~FakeSigner() override { cryptoproc::set_remote_signer(nullptr); }

    uint64_t submit(uint64_t key_id, ipc::SignKind kind, uint16_t scheme,
                    std::span<const uint8_t> message, Done done) override {
        requests.push_back(
            Request{next, key_id, kind, scheme, {message.begin(), message.end()}, std::move(done)});
        return next++;
    }
    void cancel(uint64_t ticket) override {
        for (Request& r : requests)
            if (r.ticket == ticket) r.cancelled = true;
    }
    void answer(size_t i, EVP_PKEY* key) {
        Request& r = requests.at(i);
        REQUIRE_FALSE(r.cancelled);
        Result<std::vector<uint8_t>> sig = rktest::reference_sign(key, r.scheme, r.message);
        Done d = std::move(r.done);
        d(std::move(sig));
    }
    void refuse(size_t i) {
        Done d = std::move(requests.at(i).done);
        Result<std::vector<uint8_t>> e = err(ErrorKind::protocol, "refused by the test");
        d(std::move(e));
    }
};

std::unique_ptr<cryptoproc::ServiceContext> build(const cryptoproc::ServiceSpec& spec) {
    auto svc = cryptoproc::build_service_context(spec);
    INFO((svc ? std::string() : svc.message()));
    REQUIRE(svc);
    return std::move(*svc);
}

bool starts_with_tls13_context(const std::vector<uint8_t>& m, const std::string& who) {
    std::string context = "TLS 1.3, " + who + " CertificateVerify";
    if (m.size() < 64 + context.size() + 1) return false;
    for (size_t i = 0; i < 64; ++i)
        if (m[i] != 0x20) return false;
    return std::equal(context.begin(), context.end(), m.begin() + 64) &&
           m[64 + context.size()] == 0;
}

}  // namespace

TEST_CASE("remote key: OpenSSL's own implementations still serve everything else", "[remote_key]") {
    REQUIRE(cryptoproc::load_remote_key_provider());
    const cptest::Credentials& c = rktest::credentials("P-256");
    EvpPkeyPtr local = rktest::private_key(c);
    CHECK(std::string(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(local.get()))) == "default");
    // Key generation needs OpenSSL's key manager (ours has no gen): with
    // both in one library context, this is what broke.
    for (const char* type : {"EC", "RSA", "ED25519"}) {
        EvpPkeyPtr made(type == std::string("RSA")
                            ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, static_cast<size_t>(2048))
                        : type == std::string("EC")
                            ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, "P-256")
                            : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
        REQUIRE(made);
        CHECK(std::string(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(made.get()))) ==
              "default");
    }

    auto remote = cryptoproc::make_remote_key(local.get(), 7, ipc::kServerKinds);
    REQUIRE(remote);
    CHECK(cryptoproc::is_remote_key(remote->get()));
    CHECK_FALSE(cryptoproc::is_remote_key(local.get()));
    CHECK(EVP_PKEY_is_a(remote->get(), "EC"));
    CHECK(EVP_PKEY_get_bits(remote->get()) == 256);
    CHECK(EVP_PKEY_get_security_bits(remote->get()) == 128);
    CHECK(EVP_PKEY_get_size(remote->get()) == EVP_PKEY_get_size(local.get()));

    // It matches its certificate, and only its certificate.
    BIO* bio = BIO_new_mem_buf(c.chain_pem.data(), static_cast<int>(c.chain_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(cert);
    CHECK(X509_check_private_key(cert, remote->get()) == 1);
    const cptest::Credentials& other = rktest::credentials("P-384");
    EvpPkeyPtr other_key = rktest::private_key(other);
    auto other_remote = cryptoproc::make_remote_key(other_key.get(), 8, ipc::kServerKinds);
    REQUIRE(other_remote);
    CHECK(X509_check_private_key(cert, other_remote->get()) != 1);
    X509_free(cert);
    ERR_clear_error();

    // No raw digest signing, and no signing outside an asynchronous handshake.
    EVP_PKEY_CTX* raw = EVP_PKEY_CTX_new_from_pkey(nullptr, remote->get(), nullptr);
    REQUIRE(raw);
    CHECK(EVP_PKEY_sign_init(raw) <= 0);
    EVP_PKEY_CTX_free(raw);
    FakeSigner signer;
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    unsigned char sig[128];
    size_t len = sizeof sig;
    const unsigned char msg[] = "message";
    REQUIRE(EVP_DigestSignInit_ex(md, nullptr, "SHA256", nullptr, nullptr, remote->get(),
                                  nullptr) == 1);
    CHECK(EVP_DigestSign(md, sig, &len, msg, sizeof msg) != 1);
    CHECK(signer.requests.empty());
    EVP_MD_CTX_free(md);
    ERR_clear_error();

    // Other key types are refused, with their name.
    EvpPkeyPtr x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    auto refused = cryptoproc::key_algorithm_of(x25519.get());
    REQUIRE_FALSE(refused);
    CHECK(refused.message().find("X25519") != std::string::npos);
}

TEST_CASE("remote key: a server's signature pauses its handshake and others go on",
          "[remote_key]") {
    struct Case {
        const char* type;
        int version;
        const char* sigalgs;
        ipc::SignKind kind;
        uint16_t scheme;
    };
    const Case cases[] = {
        {"P-256", TLS1_3_VERSION, "", ipc::SignKind::tls13_server_certificate_verify, 0x0403},
        {"P-384", TLS1_3_VERSION, "", ipc::SignKind::tls13_server_certificate_verify, 0x0503},
        {"RSA", TLS1_3_VERSION, "", ipc::SignKind::tls13_server_certificate_verify, 0x0804},
        {"ED25519", TLS1_3_VERSION, "", ipc::SignKind::tls13_server_certificate_verify, 0x0807},
        {"P-256", TLS1_2_VERSION, "", ipc::SignKind::tls12_server_key_exchange, 0x0403},
        {"P-384", TLS1_2_VERSION, "ECDSA+SHA384", ipc::SignKind::tls12_server_key_exchange, 0x0503},
        {"RSA", TLS1_2_VERSION, "RSA+SHA256", ipc::SignKind::tls12_server_key_exchange, 0x0401},
        {"RSA", TLS1_2_VERSION, "RSA+SHA384", ipc::SignKind::tls12_server_key_exchange, 0x0501},
        {"RSA", TLS1_2_VERSION, "rsa_pss_rsae_sha256", ipc::SignKind::tls12_server_key_exchange,
         0x0804},
        {"ED25519", TLS1_2_VERSION, "", ipc::SignKind::tls12_server_key_exchange, 0x0807},
    };
    for (const Case& k : cases) {
        DYNAMIC_SECTION(k.type << " TLS " << (k.version == TLS1_3_VERSION ? "1.3" : "1.2") << " "
                               << k.sigalgs) {
            const cptest::Credentials& creds = rktest::credentials(k.type);
            EvpPkeyPtr key = rktest::private_key(creds);
            auto svc = build(rktest::remote_server_spec(creds, 42));
            auto client = rktest::peer_client_ctx(creds, k.version, k.sigalgs);
            FakeSigner signer;

            rktest::HandshakePair a(svc->ctx.get(), client.get(), true);
            a.pump();
            INFO(a.failure());
            REQUIRE_FALSE(a.failed());
            REQUIRE(a.ours_error() == SSL_ERROR_WANT_ASYNC);
            REQUIRE(SSL_waiting_for_async(a.ours()) == 1);
            REQUIRE(signer.requests.size() == 1);
            CHECK(signer.requests[0].key_id == 42);
            CHECK(signer.requests[0].kind == k.kind);
            CHECK(signer.requests[0].scheme == k.scheme);
            if (k.version == TLS1_3_VERSION) {
                CHECK(starts_with_tls13_context(signer.requests[0].message, "server"));
            } else {
                // client random, server random, then the ECDHE parameters
                REQUIRE(signer.requests[0].message.size() > 68);
                CHECK(signer.requests[0].message[64] == 3);  // named_curve
            }

            // While A waits, B gets as far as its own signature.
            rktest::HandshakePair b(svc->ctx.get(), client.get(), true);
            b.pump();
            REQUIRE(b.ours_error() == SSL_ERROR_WANT_ASYNC);
            REQUIRE(signer.requests.size() == 2);
            CHECK_FALSE(a.done());

            // B's answer first: B completes, A still waits.
            signer.answer(1, key.get());
            CHECK(b.wakes() == 1);
            CHECK(a.wakes() == 0);
            b.pump();
            INFO(b.failure());
            REQUIRE(b.done());
            CHECK(SSL_get_verify_result(b.peer()) == X509_V_OK);
            a.pump();
            CHECK(a.ours_error() == SSL_ERROR_WANT_ASYNC);

            signer.answer(0, key.get());
            CHECK(a.wakes() == 1);
            a.pump();
            INFO(a.failure());
            REQUIRE(a.done());
            CHECK(SSL_get_verify_result(a.peer()) == X509_V_OK);
            CHECK(SSL_version(a.ours()) == k.version);
            CHECK(signer.requests.size() == 2);
        }
    }
}

TEST_CASE("remote key: a client certificate's signature pauses the client's handshake",
          "[remote_key]") {
    struct Case {
        const char* type;
        int version;
        ipc::SignKind kind;
    };
    const Case cases[] = {
        {"P-256", TLS1_3_VERSION, ipc::SignKind::tls13_client_certificate_verify},
        {"RSA", TLS1_3_VERSION, ipc::SignKind::tls13_client_certificate_verify},
        {"ED25519", TLS1_3_VERSION, ipc::SignKind::tls13_client_certificate_verify},
        {"P-256", TLS1_2_VERSION, ipc::SignKind::tls12_client_certificate_verify},
        {"P-384", TLS1_2_VERSION, ipc::SignKind::tls12_client_certificate_verify},
        {"RSA", TLS1_2_VERSION, ipc::SignKind::tls12_client_certificate_verify},
    };
    const cptest::Credentials& server = rktest::credentials("P-256");
    for (const Case& k : cases) {
        DYNAMIC_SECTION(k.type << " TLS " << (k.version == TLS1_3_VERSION ? "1.3" : "1.2")) {
            const cptest::Credentials& creds = rktest::credentials(k.type);
            EvpPkeyPtr key = rktest::private_key(creds);
            auto svc = build(rktest::remote_client_spec(creds, 9, server));
            auto peer = rktest::peer_server_ctx(server, k.version, &creds);
            FakeSigner signer;

            rktest::HandshakePair a(svc->ctx.get(), peer.get(), false);
            a.pump();
            INFO(a.failure());
            REQUIRE_FALSE(a.failed());
            REQUIRE(a.ours_error() == SSL_ERROR_WANT_ASYNC);
            REQUIRE(signer.requests.size() == 1);
            CHECK(signer.requests[0].kind == k.kind);
            const std::vector<uint8_t>& m = signer.requests[0].message;
            if (k.version == TLS1_3_VERSION)
                CHECK(starts_with_tls13_context(m, "client"));
            else
                CHECK(m.at(0) == 1);  // the transcript, from the ClientHello on

            signer.answer(0, key.get());
            a.pump();
            INFO(a.failure());
            REQUIRE(a.done());
            CHECK(SSL_get_verify_result(a.ours()) == X509_V_OK);
            // The server verified the client's certificate and its signature.
            X509* seen = SSL_get0_peer_certificate(a.peer());
            CHECK(seen != nullptr);
            CHECK(SSL_get_verify_result(a.peer()) == X509_V_OK);
        }
    }
}

TEST_CASE("remote key: many handshakes wait at once and finish in any order", "[remote_key]") {
    const cptest::Credentials& creds = rktest::credentials("P-256");
    EvpPkeyPtr key = rktest::private_key(creds);
    auto svc = build(rktest::remote_server_spec(creds, 1));
    auto client = rktest::peer_client_ctx(creds, TLS1_3_VERSION);
    FakeSigner signer;
    std::vector<std::unique_ptr<rktest::HandshakePair>> pairs;
    for (int i = 0; i < 32; ++i) {
        pairs.push_back(
            std::make_unique<rktest::HandshakePair>(svc->ctx.get(), client.get(), true));
        pairs.back()->pump();
        REQUIRE(pairs.back()->ours_error() == SSL_ERROR_WANT_ASYNC);
    }
    REQUIRE(signer.requests.size() == 32);
    for (size_t i = 32; i-- > 0;) {
        signer.answer(i, key.get());
        pairs[i]->pump();
        REQUIRE(pairs[i]->done());
    }
}

TEST_CASE("remote key: a refused signature fails the handshake, a dropped one unwinds",
          "[remote_key]") {
    const cptest::Credentials& creds = rktest::credentials("RSA");
    auto svc = build(rktest::remote_server_spec(creds, 1));
    auto client = rktest::peer_client_ctx(creds, TLS1_3_VERSION);
    FakeSigner signer;

    rktest::HandshakePair a(svc->ctx.get(), client.get(), true);
    a.pump();
    REQUIRE(a.ours_error() == SSL_ERROR_WANT_ASYNC);
    signer.refuse(0);
    a.pump();
    CHECK(a.failed());
    CHECK(a.slot().failure() == "signer: refused by the test");
    CHECK(SSL_waiting_for_async(a.ours()) == 0);

    // A handshake dropped while its signature is out: the request is
    // cancelled and the paused job ends (no stack left behind: ASan's leak
    // check would name it).
    auto b = std::make_unique<rktest::HandshakePair>(svc->ctx.get(), client.get(), true);
    b->pump();
    REQUIRE(b->ours_error() == SSL_ERROR_WANT_ASYNC);
    SSL* ssl = b->ours();
    cryptoproc::unwind_remote_sign(ssl, b->slot());
    CHECK(signer.requests[1].cancelled);
    CHECK(SSL_waiting_for_async(ssl) == 0);
    b.reset();
}

// The helper's seccomp allow-list (cryptoproc/sandbox_policy.cpp) holds
// what an ASYNC job needs: a fibre's first start (setcontext restores the
// signal mask: rt_sigprocmask), its stack (malloc), pausing and resuming
// (_longjmp, no system call). A forbidden call would kill the child with
// SIGSYS.
TEST_CASE("remote key: a paused and resumed handshake needs no call outside the helper's sandbox",
          "[remote_key]") {
    const cptest::Credentials& creds = rktest::credentials("P-256");
    EvpPkeyPtr key = rktest::private_key(creds);
    auto svc = build(rktest::remote_server_spec(creds, 1));
    auto client = rktest::peer_client_ctx(creds, TLS1_3_VERSION);
    std::fflush(nullptr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (!sandbox::enter(cryptoproc::sandbox_policy(), sandbox::Identity{})) _exit(3);
        FakeSigner signer;
        rktest::HandshakePair a(svc->ctx.get(), client.get(), true);
        a.pump();
        if (a.ours_error() != SSL_ERROR_WANT_ASYNC || signer.requests.size() != 1) _exit(4);
        Result<std::vector<uint8_t>> sig = rktest::reference_sign(
            key.get(), signer.requests[0].scheme, signer.requests[0].message);
        FakeSigner::Done d = std::move(signer.requests[0].done);
        d(std::move(sig));
        a.pump();
        _exit(a.done() && SSL_get_verify_result(a.peer()) == X509_V_OK ? 0 : 5);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO("status " << status);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK_FALSE((WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS));
}
