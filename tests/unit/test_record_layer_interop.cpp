// The record layer against real OpenSSL. Two OpenSSL SSL objects shake
// hands over memory BIOs; the secrets are taken the way a helper takes them
// (TLS 1.3: the key log; TLS 1.2: master secret + TLS1-PRF key block), one
// side is replaced by our RecordLayer, and data, KeyUpdates, renegotiation
// attempts and close_notify go back and forth.
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "record_layer_test_util.hpp"

using namespace tlsward;
using namespace tlsward::netproc;
using namespace tlsward::rltest;
using Outcome = RecordLayer::ReadOutcome;

namespace {

struct Free {
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
    void operator()(SSL* p) const { SSL_free(p); }
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

std::string openssl_err() {
    std::string s;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        s += buf;
        s += "; ";
    }
    return s;
}

// An ECDSA P-256 key and a self-signed certificate, made once.
struct Credentials {
    Ptr<EVP_PKEY> key;
    Ptr<X509> cert;
};

const Credentials& credentials() {
    static const Credentials c = [] {
        Credentials out;
        out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        REQUIRE(out.key);
        out.cert.reset(X509_new());
        X509* x = out.cert.get();
        REQUIRE(X509_set_version(x, 2) == 1);
        REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        REQUIRE(X509_set_pubkey(x, out.key.get()) == 1);
        X509_NAME* name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
        REQUIRE(X509_set_issuer_name(x, name) == 1);
        REQUIRE(X509_sign(x, out.key.get(), EVP_sha256()) > 0);
        return out;
    }();
    return c;
}

std::vector<std::string> g_keylog;
void keylog_cb(const SSL*, const char* line) {
    g_keylog.emplace_back(line);
}

Bytes keylog_secret(const std::string& label) {
    for (const auto& l : g_keylog) {
        if (l.rfind(label + " ", 0) != 0) continue;
        auto sp = l.rfind(' ');
        return unhex(l.substr(sp + 1));
    }
    FAIL("no " << label << " in the key log");
    return {};
}

Bytes drain(BIO* b) {
    Bytes out(BIO_ctrl_pending(b));
    if (!out.empty())
        REQUIRE(BIO_read(b, out.data(), static_cast<int>(out.size())) ==
                static_cast<int>(out.size()));
    return out;
}

void put(BIO* b, std::span<const uint8_t> d) {
    if (!d.empty())
        REQUIRE(BIO_write(b, d.data(), static_cast<int>(d.size())) == static_cast<int>(d.size()));
}

void ssl_write(SSL* s, std::span<const uint8_t> d) {
    size_t written = 0;
    INFO(openssl_err());
    REQUIRE(SSL_write_ex(s, d.data(), d.size(), &written) == 1);
    REQUIRE(written == d.size());
}

Bytes ssl_read(SSL* s, size_t n) {
    Bytes out;
    while (out.size() < n) {
        Bytes buf(n - out.size());
        size_t got = 0;
        int rc = SSL_read_ex(s, buf.data(), buf.size(), &got);
        INFO("SSL_get_error " << SSL_get_error(s, rc) << " " << openssl_err());
        REQUIRE(rc == 1);
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(got));
    }
    return out;
}

// TLS 1.2 key block (RFC 5246 6.3): PRF(master, "key expansion",
// server_random + client_random), split client key, server key, client IV,
// server IV (docs/internals.md, "The hand-off recipe").
void tls12_secrets(SSL* ssl, const SuiteInfo& suite, ipc::HandshakeDone& h) {
    uint8_t master[48];
    REQUIRE(SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof master) == 48);
    uint8_t cr[32];
    uint8_t sr[32];
    REQUIRE(SSL_get_client_random(ssl, cr, sizeof cr) == 32);
    REQUIRE(SSL_get_server_random(ssl, sr, sizeof sr) == 32);
    Ptr<EVP_KDF_CTX> kctx;
    {
        EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
        REQUIRE(kdf);
        kctx.reset(EVP_KDF_CTX_new(kdf));
        EVP_KDF_free(kdf);
    }
    std::string digest = suite.digest;
    char label[] = "key expansion";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, sizeof master),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, label, sizeof label - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, sr, sizeof sr),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, cr, sizeof cr),
        OSSL_PARAM_construct_end(),
    };
    Bytes block(2 * (suite.key_len + suite.iv_len));
    REQUIRE(EVP_KDF_derive(kctx.get(), block.data(), block.size(), params) == 1);
    auto b = std::span<const uint8_t>(block);
    size_t k = suite.key_len;
    size_t iv = suite.iv_len;
    h.client_secret = SecretBytes(concat({b.subspan(0, k), b.subspan(2 * k, iv)}));
    h.server_secret = SecretBytes(concat({b.subspan(k, k), b.subspan(2 * k + iv, iv)}));
    h.client_seq = 1;  // the Finished messages used 0
    h.server_seq = 1;
    OPENSSL_cleanse(master, sizeof master);
    OPENSSL_cleanse(block.data(), block.size());
}

// Two OpenSSL endpoints joined by memory BIOs.
struct Handshake {
    Ptr<SSL_CTX> sctx;
    Ptr<SSL_CTX> cctx;
    Ptr<SSL> server;
    Ptr<SSL> client;
    BIO* s_in = nullptr;  // what the server reads (owned by the SSL)
    BIO* s_out = nullptr;
    BIO* c_in = nullptr;
    BIO* c_out = nullptr;
    Bytes after;  // records the server wrote after its handshake (TLS 1.3 tickets)
    ipc::HandshakeDone handoff;

    Handshake(const SuiteInfo& suite, int tickets) {
        g_keylog.clear();
        bool tls13 = suite.version == kTls13;
        int v = tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
        sctx.reset(SSL_CTX_new(TLS_server_method()));
        cctx.reset(SSL_CTX_new(TLS_client_method()));
        for (SSL_CTX* ctx : {sctx.get(), cctx.get()}) {
            REQUIRE(SSL_CTX_set_min_proto_version(ctx, v) == 1);
            REQUIRE(SSL_CTX_set_max_proto_version(ctx, v) == 1);
            if (tls13)
                REQUIRE(SSL_CTX_set_ciphersuites(ctx, suite.openssl) == 1);
            else
                REQUIRE(SSL_CTX_set_cipher_list(ctx, suite.openssl) == 1);
            SSL_CTX_set_keylog_callback(ctx, keylog_cb);
        }
        REQUIRE(SSL_CTX_use_certificate(sctx.get(), credentials().cert.get()) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey(sctx.get(), credentials().key.get()) == 1);
        SSL_CTX_set_num_tickets(sctx.get(), static_cast<size_t>(tickets));
        SSL_CTX_set_options(sctx.get(), SSL_OP_NO_TICKET * (tls13 ? 0 : 1));
        SSL_CTX_set_verify(cctx.get(), SSL_VERIFY_NONE, nullptr);

        server.reset(SSL_new(sctx.get()));
        client.reset(SSL_new(cctx.get()));
        s_in = BIO_new(BIO_s_mem());
        s_out = BIO_new(BIO_s_mem());
        c_in = BIO_new(BIO_s_mem());
        c_out = BIO_new(BIO_s_mem());
        SSL_set_bio(server.get(), s_in, s_out);
        SSL_set_bio(client.get(), c_in, c_out);
        SSL_set_accept_state(server.get());
        SSL_set_connect_state(client.get());

        bool cdone = false;
        bool sdone = false;
        for (int i = 0; i < 10 && !(cdone && sdone); ++i) {
            if (!cdone) cdone = step(client.get());
            put(s_in, drain(c_out));
            if (!sdone) {
                sdone = step(server.get());
                // TLS 1.3: what the server writes in the call that completes
                // its handshake is post-handshake (tickets), under the
                // application keys; the client is done already.
                if (sdone && tls13) {
                    after = drain(s_out);
                    continue;
                }
            }
            put(c_in, drain(s_out));
        }
        REQUIRE(cdone);
        REQUIRE(sdone);
        // OpenSSL may hold tickets back until its next call.
        REQUIRE(SSL_do_handshake(server.get()) == 1);
        auto more = drain(s_out);
        after.insert(after.end(), more.begin(), more.end());
        CHECK(count_records(after) == static_cast<size_t>(tls13 ? tickets : 0));
        // Nothing was read past the handshake on either side.
        CHECK(BIO_ctrl_pending(s_in) == 0);
        CHECK(BIO_ctrl_pending(c_in) == 0);
        CHECK(SSL_has_pending(server.get()) == 0);
        REQUIRE(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(server.get())) == suite.id);

        handoff.tls_version = suite.version;
        handoff.cipher_suite = suite.id;
        if (tls13) {
            Bytes cs = keylog_secret("CLIENT_TRAFFIC_SECRET_0");
            Bytes ss = keylog_secret("SERVER_TRAFFIC_SECRET_0");
            REQUIRE(cs.size() == suite.hash_len);
            REQUIRE(ss.size() == suite.hash_len);
            handoff.client_secret = SecretBytes(cs.data(), cs.size());
            handoff.server_secret = SecretBytes(ss.data(), ss.size());
            OPENSSL_cleanse(cs.data(), cs.size());
            OPENSSL_cleanse(ss.data(), ss.size());
            handoff.client_seq = 0;
            handoff.server_seq = count_records(after);  // counted, not assumed
        } else {
            tls12_secrets(server.get(), suite, handoff);
        }
    }

    static bool step(SSL* s) {
        int rc = SSL_do_handshake(s);
        if (rc == 1) return true;
        INFO(openssl_err());
        REQUIRE(SSL_get_error(s, rc) == SSL_ERROR_WANT_READ);
        return false;
    }
};

// Our layer on one side, the OpenSSL endpoint of the other side.
struct Session {
    Handshake hs;
    bool we_are_server;
    std::unique_ptr<RecordLayer> rl;
    SSL* peer;
    BIO* peer_in;
    BIO* peer_out;
    Side ours;

    Session(uint16_t suite_id, bool server_role, int tickets)
        : hs(*find_suite(suite_id), tickets), we_are_server(server_role) {
        // A client helper reports the server's sequence as it reads it: the
        // tickets are not read yet, they come to our layer.
        if (!we_are_server && hs.handoff.tls_version == kTls13) hs.handoff.server_seq = 0;
        rl = make_layer(hs.handoff, we_are_server);
        peer = we_are_server ? hs.client.get() : hs.server.get();
        peer_in = we_are_server ? hs.c_in : hs.s_in;
        peer_out = we_are_server ? hs.c_out : hs.s_out;
        // The tickets go to the client, whoever that is.
        if (we_are_server)
            put(hs.c_in, hs.after);
        else
            ours.feed(hs.after);
    }

    Bytes peer_to_us(std::span<const uint8_t> data) {
        ssl_write(peer, data);
        ours.feed(drain(peer_out));
        return read_ok(*rl, ours);
    }
    Bytes us_to_peer(std::span<const uint8_t> data) {
        REQUIRE(rl->seal(data, ours.cipher).ok());
        put(peer_in, ours.take_cipher());
        return ssl_read(peer, data.size());
    }
};

void run_data_and_close(Session& s) {
    auto hello = bytes_of("hello from openssl");
    CHECK(s.peer_to_us(hello) == hello);
    auto reply = bytes_of("hello from tlsward");
    CHECK(s.us_to_peer(reply) == reply);
    // Full-size records both ways, one at a time (one pooled block each).
    for (int i = 0; i < 3; ++i) {
        auto big = pattern(16384, static_cast<uint8_t>(i));
        CHECK(s.peer_to_us(big) == big);
        auto back = pattern(16000, static_cast<uint8_t>(i + 9));
        CHECK(s.us_to_peer(back) == back);
    }
    // Zero-length application data from us is harmless to OpenSSL.
    auto w = s.ours.cipher.writable(s.rl->overhead());
    REQUIRE(w.size() >= s.rl->overhead());
    REQUIRE(s.rl->seal_in_place(s.ours.cipher, 0).ok());
    CHECK(s.us_to_peer(bytes_of("after empty")) == bytes_of("after empty"));

    // We close our half: OpenSSL sees a clean close_notify ...
    REQUIRE(s.rl->seal_alert(Alert::close_notify, s.ours.cipher).ok());
    put(s.peer_in, s.ours.take_cipher());
    uint8_t buf[16];
    size_t got = 0;
    int rc = SSL_read_ex(s.peer, buf, sizeof buf, &got);
    CHECK(rc == 0);
    CHECK(SSL_get_error(s.peer, rc) == SSL_ERROR_ZERO_RETURN);
    // ... and answers with its own, which we read as the end of its data.
    CHECK(SSL_shutdown(s.peer) == 1);
    s.ours.feed(drain(s.peer_out));
    auto r = s.rl->read_records(s.ours.in, s.ours.plain, s.ours.cipher);
    CHECK(r.outcome == Outcome::close_notify);
    CHECK(s.rl->peer_closed());
}

void run_key_updates(Session& s) {
    // OpenSSL asks for an update: we rotate our read key, answer at once,
    // and OpenSSL reads our data under our new key.
    REQUIRE(SSL_key_update(s.peer, SSL_KEY_UPDATE_REQUESTED) == 1);
    CHECK(s.peer_to_us(bytes_of("after peer update")) == bytes_of("after peer update"));
    CHECK(s.rl->stats().key_updates_in == 1);
    CHECK(s.rl->stats().key_updates_out == 1);
    CHECK(s.us_to_peer(bytes_of("reply under new key")) == bytes_of("reply under new key"));

    // OpenSSL rotates without asking.
    REQUIRE(SSL_key_update(s.peer, SSL_KEY_UPDATE_NOT_REQUESTED) == 1);
    CHECK(s.peer_to_us(bytes_of("quiet update")) == bytes_of("quiet update"));
    CHECK(s.rl->stats().key_updates_in == 2);
    CHECK(s.rl->stats().key_updates_out == 1);

    // We rotate, asking OpenSSL to do the same: it answers before its data.
    for (int i = 0; i < 3; ++i) {
        REQUIRE(s.rl->send_key_update(true, s.ours.cipher).ok());
        auto ours = bytes_of("we rotated " + std::to_string(i));
        CHECK(s.us_to_peer(ours) == ours);
        auto theirs = bytes_of("openssl answered " + std::to_string(i));
        CHECK(s.peer_to_us(theirs) == theirs);
    }
    CHECK(s.rl->stats().key_updates_out == 4);
    CHECK(s.rl->stats().key_updates_in == 5);
    // And once without asking.
    REQUIRE(s.rl->send_key_update(false, s.ours.cipher).ok());
    CHECK(s.us_to_peer(bytes_of("last rotation")) == bytes_of("last rotation"));
    CHECK(s.peer_to_us(bytes_of("no answer needed")) == bytes_of("no answer needed"));
    CHECK(s.rl->stats().key_updates_in == 5);
}

}  // namespace

TEST_CASE("interop: TLS 1.3 with OpenSSL, all suites, both roles", "[record][interop]") {
    REQUIRE(RecordLayer::prefetch_algorithms().ok());
    for (uint16_t id : {0x1301, 0x1302, 0x1303}) {
        for (bool server : {true, false}) {
            INFO(find_suite(id)->name
                 << (server ? " (we are the server)" : " (we are the client)"));
            Session s(id, server, 0);
            CHECK(s.rl->read_seq() == 0);
            CHECK(s.rl->write_seq() == 0);
            run_key_updates(s);
            run_data_and_close(s);
        }
    }
}

TEST_CASE("interop: TLS 1.3 with two tickets", "[record][interop]") {
    for (uint16_t id : {0x1301, 0x1303}) {
        INFO(find_suite(id)->name);
        SECTION("we are the server: our write sequence starts after OpenSSL's tickets") {
            Session s(id, true, 2);
            CHECK(s.hs.handoff.server_seq == 2);
            CHECK(s.rl->write_seq() == 2);
            // The OpenSSL client reads the two tickets, then our records.
            CHECK(s.us_to_peer(bytes_of("first from us")) == bytes_of("first from us"));
            run_key_updates(s);
            run_data_and_close(s);
        }
        SECTION("we are the client: the server's tickets are ignored") {
            Session s(id, false, 2);
            CHECK(count_records(s.hs.after) == 2);
            auto r = s.rl->read_records(s.ours.in, s.ours.plain, s.ours.cipher);
            CHECK(r.outcome == Outcome::more);
            CHECK(r.app_bytes == 0);
            CHECK(s.rl->read_seq() == 2);
            CHECK(s.ours.cipher.empty());
            run_key_updates(s);
            run_data_and_close(s);
        }
    }
}

TEST_CASE("interop: TLS 1.2 ECDHE-ECDSA with OpenSSL, all AEADs, both roles", "[record][interop]") {
    for (uint16_t id : {0xC02B, 0xC02C, 0xCCA9}) {
        for (bool server : {true, false}) {
            INFO(find_suite(id)->name
                 << (server ? " (we are the server)" : " (we are the client)"));
            Session s(id, server, 0);
            CHECK(s.rl->read_seq() == 1);
            CHECK(s.rl->write_seq() == 1);
            CHECK_FALSE(s.rl->send_key_update(false, s.ours.cipher).ok());
            run_data_and_close(s);
        }
    }
}

TEST_CASE("interop: TLS 1.2 renegotiation is refused with a warning", "[record][interop]") {
    for (bool server : {true, false}) {
        INFO((server ? "OpenSSL client sends a ClientHello"
                     : "OpenSSL server sends a HelloRequest"));
        Session s(0xC02B, server, 0);
        CHECK(s.peer_to_us(bytes_of("before")) == bytes_of("before"));
        REQUIRE(SSL_renegotiate(s.peer) == 1);
        // A client now waits for a ServerHello; a server has written its
        // HelloRequest and returns at once.
        int rc = SSL_do_handshake(s.peer);
        if (server) CHECK(rc != 1);
        s.ours.feed(drain(s.peer_out));
        auto r = s.rl->read_records(s.ours.in, s.ours.plain, s.ours.cipher);
        REQUIRE(r.outcome == Outcome::more);  // not fatal for us
        auto reply = s.ours.take_cipher();
        REQUIRE(count_records(reply) == 1);
        CHECK(reply[0] == 21);  // one alert record
        // OpenSSL reads our warning no_renegotiation and, having asked to
        // renegotiate, gives up with a fatal handshake_failure.
        put(s.peer_in, reply);
        uint8_t buf[8];
        size_t got = 0;
        CHECK(SSL_read_ex(s.peer, buf, sizeof buf, &got) == 0);
        unsigned long e = ERR_peek_last_error();
        CHECK(ERR_GET_REASON(e) == SSL_R_NO_RENEGOTIATION);
        ERR_clear_error();
        s.ours.feed(drain(s.peer_out));
        r = s.rl->read_records(s.ours.in, s.ours.plain, s.ours.cipher);
        CHECK(r.outcome == Outcome::fatal);
        CHECK(r.from_peer);
        CHECK(r.alert == Alert::handshake_failure);
    }
}
