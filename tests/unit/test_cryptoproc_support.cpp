// Support code of the [cryptoproc] tests (no test cases here).
#include "test_cryptoproc_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "common/hex.hpp"
#include "common/openssl_error.hpp"
#include "common/uv_handles.hpp"

namespace tlsward::cptest {

using cryptoproc::BioPtr;
using cryptoproc::EvpPkeyPtr;
using cryptoproc::X509Ptr;

namespace {

[[noreturn]] void die(const std::string& what) {
    throw std::runtime_error(what + ": " + openssl_errors());
}

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(n));
}

std::string pem_of(X509* x) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(bio.get(), x)) die("PEM_write_bio_X509");
    return bio_string(bio.get());
}

std::string pem_of(EVP_PKEY* k) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr))
        die("PEM_write_bio_PrivateKey");
    return bio_string(bio.get());
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext || !X509_add_ext(cert, ext, -1)) die("X509 extension");
    X509_EXTENSION_free(ext);
}

X509Ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                  const char* san = "DNS:localhost") {
    static long serial = 1;
    X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    X509_set_pubkey(x.get(), key);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>(cn), -1,
                               -1, 0);
    X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* iss = issuer ? issuer : x.get();
    if (ca) {
        add_ext(x.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        if (san && *san) add_ext(x.get(), iss, NID_subject_alt_name, san);
    }
    if (!X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256())) die("X509_sign");
    return x;
}

Credentials self_signed(EVP_PKEY* key) {
    X509Ptr cert = make_cert(key, "localhost", nullptr, nullptr, false);
    Credentials c;
    c.chain_pem = pem_of(cert.get());
    c.key_pem = pem_of(key);
    c.ca_pem = c.chain_pem;
    return c;
}

}  // namespace

const Credentials& ecdsa_p256() {
    static const Credentials c = [] {
        EvpPkeyPtr key(EVP_EC_gen("P-256"));
        if (!key) die("EVP_EC_gen");
        return self_signed(key.get());
    }();
    return c;
}

const Credentials& rsa_2048() {
    static const Credentials c = [] {
        EvpPkeyPtr key(EVP_RSA_gen(2048));
        if (!key) die("EVP_RSA_gen");
        return self_signed(key.get());
    }();
    return c;
}

const Credentials& ecdsa_with_ca() {
    static const Credentials c = [] {
        EvpPkeyPtr ca_key(EVP_EC_gen("P-256"));
        EvpPkeyPtr leaf_key(EVP_EC_gen("P-256"));
        if (!ca_key || !leaf_key) die("EVP_EC_gen");
        X509Ptr ca = make_cert(ca_key.get(), "tlsward test CA", nullptr, nullptr, true);
        X509Ptr leaf = make_cert(leaf_key.get(), "localhost", ca.get(), ca_key.get(), false);
        Credentials cr;
        cr.ca_pem = pem_of(ca.get());
        cr.chain_pem = pem_of(leaf.get()) + cr.ca_pem;
        cr.key_pem = pem_of(leaf_key.get());
        return cr;
    }();
    return c;
}

IssuedCredentials issue(const std::string& cn, const std::string& san, bool rsa) {
    EvpPkeyPtr ca_key(EVP_EC_gen("P-256"));
    if (!ca_key) die("EVP_EC_gen");
    X509Ptr ca = make_cert(ca_key.get(), ("CA for " + cn).c_str(), nullptr, nullptr, true);
    IssuedCredentials out;
    out.ca.chain_pem = pem_of(ca.get());
    out.ca.key_pem = pem_of(ca_key.get());
    out.ca.ca_pem = out.ca.chain_pem;
    out.leaf = issue_from(out, cn, san, rsa);
    return out;
}

Credentials issue_from(const IssuedCredentials& ca, const std::string& cn, const std::string& san,
                       bool rsa) {
    BioPtr cbio(BIO_new_mem_buf(ca.ca.chain_pem.data(), static_cast<int>(ca.ca.chain_pem.size())));
    X509Ptr ca_cert(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
    BioPtr kbio(BIO_new_mem_buf(ca.ca.key_pem.data(), static_cast<int>(ca.ca.key_pem.size())));
    EvpPkeyPtr ca_key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
    if (!ca_cert || !ca_key) die("reading the test CA");
    EvpPkeyPtr key(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
    if (!key) die("key generation");
    X509Ptr leaf =
        make_cert(key.get(), cn.c_str(), ca_cert.get(), ca_key.get(), false, san.c_str());
    Credentials c;
    c.chain_pem = pem_of(leaf.get());
    c.key_pem = pem_of(key.get());
    c.ca_pem = ca.ca.chain_pem;
    return c;
}

std::vector<uint8_t> der_of_pem(const std::string& pem) {
    std::vector<uint8_t> out;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        unsigned char* der = nullptr;
        int n = i2d_X509(x, &der);
        out.insert(out.end(), der, der + n);
        OPENSSL_free(der);
        X509_free(x);
    }
    ERR_clear_error();
    return out;
}

cryptoproc::ServiceSpec server_spec(uint32_t id, const std::string& name,
                                    std::vector<const Credentials*> creds) {
    cryptoproc::ServiceSpec s;
    s.id = id;
    s.name = name;
    s.role = ipc::TlsRole::server;
    for (const Credentials* c : creds)
        s.certificates.push_back(
            cryptoproc::CertificateSpec{c->chain_pem, SecretBytes(as_bytes(c->key_pem))});
    return s;
}

std::pair<UniqueFd, UniqueFd> tcp_pair() {
    UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener.get(), 4) != 0 ||
        getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error(std::string("listen: ") + strerror(errno));
    UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error(std::string("connect: ") + strerror(errno));
    UniqueFd server(accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!server) throw std::runtime_error(std::string("accept: ") + strerror(errno));
    timeval tv{5, 0};
    setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return {std::move(client), std::move(server)};
}

// --- TestClient ------------------------------------------------------------

namespace {

std::vector<uint8_t> unhex(std::string_view h) {
    std::vector<uint8_t> out(h.size() / 2);
    if (!hex_decode(h, out)) out.clear();
    return out;
}

void client_keylog(const SSL* ssl, const char* line) {
    auto* r = static_cast<ClientResult*>(SSL_get_app_data(ssl));
    std::string_view l(line);
    auto sp1 = l.find(' ');
    auto sp2 = l.find(' ', sp1 + 1);
    std::string_view label = l.substr(0, sp1);
    std::string_view secret = l.substr(sp2 + 1);
    if (label == "CLIENT_TRAFFIC_SECRET_0") r->client_traffic = unhex(secret);
    if (label == "SERVER_TRAFFIC_SECRET_0") r->server_traffic = unhex(secret);
    if (label == "CLIENT_RANDOM") r->master = unhex(secret);
}

}  // namespace

TestClient::TestClient(UniqueFd fd, ClientOptions opts)
    : fd_(std::move(fd)), opts_(std::move(opts)) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx_.get(), opts_.min_version);
    SSL_CTX_set_max_proto_version(ctx_.get(), opts_.max_version);
    if (!opts_.ciphersuites.empty())
        SSL_CTX_set_ciphersuites(ctx_.get(), opts_.ciphersuites.c_str());
    if (!opts_.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx_.get(), opts_.cipher_list.c_str());
    SSL_CTX_set_keylog_callback(ctx_.get(), client_keylog);
    if (!opts_.verify_ca_pem.empty()) {
        BioPtr bio(BIO_new_mem_buf(opts_.verify_ca_pem.data(),
                                   static_cast<int>(opts_.verify_ca_pem.size())));
        X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), ca.get());
        SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    }
    if (!opts_.client_chain_pem.empty()) {
        BioPtr cb(BIO_new_mem_buf(opts_.client_chain_pem.data(),
                                  static_cast<int>(opts_.client_chain_pem.size())));
        X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
        BioPtr kb(BIO_new_mem_buf(opts_.client_key_pem.data(),
                                  static_cast<int>(opts_.client_key_pem.size())));
        EvpPkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
        if (SSL_CTX_use_certificate(ctx_.get(), cert.get()) != 1 ||
            SSL_CTX_use_PrivateKey(ctx_.get(), key.get()) != 1)
            die("client certificate");
    }
    if (!opts_.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(ctx_.get(), opts_.sigalgs.c_str()) != 1)
        die("sigalgs");
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_app_data(ssl_.get(), &result_);
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_.get(), rbio_, wbio_);
    SSL_set_connect_state(ssl_.get());
    if (!opts_.alpn.empty()) {
        std::vector<uint8_t> wire;
        for (const std::string& p : opts_.alpn) {
            wire.push_back(static_cast<uint8_t>(p.size()));
            wire.insert(wire.end(), p.begin(), p.end());
        }
        SSL_set_alpn_protos(ssl_.get(), wire.data(), static_cast<unsigned>(wire.size()));
    }
    if (opts_.status_request) SSL_set_tlsext_status_type(ssl_.get(), TLSEXT_STATUSTYPE_ocsp);
    if (opts_.resume) {
        // A copy, for the same reason as in take_session().
        SSL_SESSION* copy = SSL_SESSION_dup(opts_.resume);
        SSL_set_session(ssl_.get(), copy);
        SSL_SESSION_free(copy);
    }
    if (!opts_.sni.empty()) SSL_set_tlsext_host_name(ssl_.get(), opts_.sni.c_str());
    if (opts_.max_fragment_length)
        SSL_set_tlsext_max_fragment_length(ssl_.get(), opts_.max_fragment_length);
    SSL_set_msg_callback(
        ssl_.get(), [](int write_p, int, int type, const void* buf, size_t len, SSL*, void* arg) {
            if (write_p && type == SSL3_RT_HANDSHAKE && len > 0 &&
                static_cast<const uint8_t*>(buf)[0] == SSL3_MT_FINISHED)
                static_cast<TestClient*>(arg)->finished_written_ = true;
        });
    SSL_set_msg_callback_arg(ssl_.get(), this);
    thread_ = std::thread([this] { run(); });
}

TestClient::~TestClient() {
    join();
}

const ClientResult& TestClient::join() {
    if (!joined_) {
        thread_.join();
        joined_ = true;
    }
    return result_;
}

bool TestClient::flush() {
    std::vector<uint8_t> out;
    size_t n = BIO_ctrl_pending(wbio_);
    out.resize(n);
    if (n) BIO_read(wbio_, out.data(), static_cast<int>(n));
    if (finished_written_ && !raw_sent_) {
        out.insert(out.end(), opts_.raw_after_finished.begin(), opts_.raw_after_finished.end());
        raw_sent_ = true;
    }
    size_t off = 0;
    while (off < out.size()) {
        ssize_t w = send(fd_.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (w <= 0) {
            result_.error = std::string("client send: ") + strerror(errno);
            return false;
        }
        off += static_cast<size_t>(w);
    }
    return true;
}

bool TestClient::recv_some() {
    uint8_t buf[16384];
    ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) {
        result_.error =
            n == 0 ? "client: server closed" : std::string("client recv: ") + strerror(errno);
        return false;
    }
    BIO_write(rbio_, buf, static_cast<int>(n));
    return true;
}

void TestClient::run() {
    using B = ClientOptions::Behaviour;
    if (opts_.behaviour == B::garbage) {
        send(fd_.get(), opts_.garbage.data(), opts_.garbage.size(), MSG_NOSIGNAL);
        return;
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl_.get());
        if (r == 1) break;
        int e = SSL_get_error(ssl_.get(), r);
        if (e != SSL_ERROR_WANT_READ) {
            flush();
            result_.error = "SSL_connect: " + openssl_errors();
            return;
        }
        if (!flush()) return;
        if (opts_.behaviour == B::stall_after_hello) return;
        if (!recv_some()) return;
        if (opts_.behaviour == B::close_mid_handshake) {
            fd_.reset();
            return;
        }
    }
    if (!opts_.app_data.empty() && SSL_write(ssl_.get(), opts_.app_data.data(),
                                             static_cast<int>(opts_.app_data.size())) <= 0) {
        result_.error = "SSL_write: " + openssl_errors();
        return;
    }
    if (!flush()) return;
    SSL* s = ssl_.get();
    result_.version = SSL_version(s);
    result_.suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(s));
    result_.client_random.resize(SSL3_RANDOM_SIZE);
    result_.server_random.resize(SSL3_RANDOM_SIZE);
    SSL_get_client_random(s, result_.client_random.data(), SSL3_RANDOM_SIZE);
    SSL_get_server_random(s, result_.server_random.data(), SSL3_RANDOM_SIZE);
    result_.verify_result = SSL_get_verify_result(s);
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(s);
    result_.peer_chain_length = chain ? sk_X509_num(chain) : 0;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(s, &alpn, &alpn_len);
    result_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    unsigned char* ocsp = nullptr;
    long ocsp_len = SSL_get_tlsext_status_ocsp_resp(s, &ocsp);
    if (ocsp && ocsp_len > 0) result_.ocsp.assign(ocsp, ocsp + ocsp_len);
    if (X509* peer = SSL_get0_peer_certificate(s)) {
        result_.peer_key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
        char cn[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
        result_.peer_cn = cn;
    }
    result_.resumed = SSL_session_reused(s) == 1;
    result_.ok = true;
}

Result<std::string> TestClient::read_app_data() {
    for (int i = 0; i < 16; ++i) {
        char buf[4096];
        ERR_clear_error();
        int n = SSL_read(ssl_.get(), buf, sizeof buf);
        if (n > 0) return std::string(buf, static_cast<size_t>(n));
        int e = SSL_get_error(ssl_.get(), n);
        if (e != SSL_ERROR_WANT_READ)
            return err(ErrorKind::protocol, "SSL_read: %d %s", e, openssl_errors().c_str());
        if (!recv_some()) return err(ErrorKind::protocol, "%s", result_.error.c_str());
    }
    return err(ErrorKind::protocol, "no application data");
}

SSL_SESSION* TestClient::take_session() {
    // A copy: freeing an SSL that did not shut down marks its own session
    // not resumable (OpenSSL's ssl_clear_bad_session).
    SSL_SESSION* s = SSL_get_session(ssl_.get());
    return s ? SSL_SESSION_dup(s) : nullptr;
}

// --- TestServer ------------------------------------------------------------

TestServer::TestServer(UniqueFd fd, ServerOptions opts)
    : fd_(std::move(fd)), opts_(std::move(opts)) {
    // The server end of tcp_pair() is non-blocking; this one blocks.
    int fl = fcntl(fd_.get(), F_GETFL);
    fcntl(fd_.get(), F_SETFL, fl & ~O_NONBLOCK);
    timeval tv{5, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { run(); });
}

TestServer::~TestServer() {
    join();
}

const ServerResult& TestServer::join() {
    if (!joined_) {
        thread_.join();
        joined_ = true;
    }
    return result_;
}

void TestServer::run() {
    cryptoproc::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_set_max_proto_version(ctx.get(), opts_.max_version);
    const Credentials* c = opts_.creds;
    BioPtr cb(BIO_new_mem_buf(c->chain_pem.data(), static_cast<int>(c->chain_pem.size())));
    BioPtr kb(BIO_new_mem_buf(c->key_pem.data(), static_cast<int>(c->key_pem.size())));
    X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    SSL_CTX_use_certificate(ctx.get(), cert.get());
    SSL_CTX_use_PrivateKey(ctx.get(), key.get());
    if (!opts_.client_ca_pem.empty()) {
        BioPtr ab(BIO_new_mem_buf(opts_.client_ca_pem.data(),
                                  static_cast<int>(opts_.client_ca_pem.size())));
        X509Ptr ca(PEM_read_bio_X509(ab.get(), nullptr, nullptr, nullptr));
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get());
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    static std::vector<uint8_t> wire;  // the ALPN callback's list
    wire.clear();
    for (const std::string& p : opts_.alpn) {
        wire.push_back(static_cast<uint8_t>(p.size()));
        wire.insert(wire.end(), p.begin(), p.end());
    }
    if (!wire.empty())
        SSL_CTX_set_alpn_select_cb(
            ctx.get(),
            [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
                unsigned char* o = nullptr;
                if (SSL_select_next_proto(&o, outlen, wire.data(),
                                          static_cast<unsigned>(wire.size()), in,
                                          inlen) != OPENSSL_NPN_NEGOTIATED)
                    return SSL_TLSEXT_ERR_NOACK;
                *out = o;
                return SSL_TLSEXT_ERR_OK;
            },
            nullptr);
    cryptoproc::SslPtr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd_.get());
    if (SSL_accept(ssl.get()) != 1) {
        result_.error = "SSL_accept: " + openssl_errors();
        return;
    }
    if (const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name))
        result_.sni = sni;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl.get(), &alpn, &alpn_len);
    result_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    if (X509* peer = SSL_get0_peer_certificate(ssl.get())) {
        char cn[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
        result_.client_cn = cn;
    }
    char buf[256];
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) {
        result_.error = "SSL_read: " + openssl_errors();
        return;
    }
    result_.received.assign(buf, static_cast<size_t>(n));
    if (SSL_write(ssl.get(), "pong", 4) != 4) {
        result_.error = "SSL_write: " + openssl_errors();
        return;
    }
    result_.ok = true;
}

Status check_client_data_path(const ipc::HandshakeDone& done, int fd, TestServer& server) {
    auto ck = record_keys(done.cipher_suite, done.client_secret.view());
    auto sk = record_keys(done.cipher_suite, done.server_secret.view());
    if (!ck || !sk) return err(ErrorKind::internal, "record keys");
    auto ping = seal_record(*ck, done.client_seq, 23, as_bytes("ping"));
    if (send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ping.size()))
        return err(ErrorKind::io, "send: %s", strerror(errno));
    std::vector<uint8_t> in = done.leftover;
    uint64_t seq = done.server_seq;
    for (int records = 0; records < 8; ++records) {
        for (int i = 0; i < 40 && record_length(in) == 0; ++i)
            read_available(fd, in, in.size() + 1, 100);
        size_t len = record_length(in);
        if (len == 0)
            return err(ErrorKind::protocol, "no record from the server (%zu bytes)", in.size());
        auto rec = open_record(*sk, seq++, std::span<const uint8_t>(in.data(), len));
        if (!rec)
            return err(ErrorKind::protocol, "server record %d: %s", records, rec.message().c_str());
        in.erase(in.begin(), in.begin() + static_cast<long>(len));
        if (rec->first == 22) continue;  // NewSessionTicket
        std::string got(rec->second.begin(), rec->second.end());
        if (rec->first != 23 || got != "pong")
            return err(ErrorKind::protocol, "server record of type %u: \"%s\"", rec->first,
                       got.c_str());
        const ServerResult& sr = server.join();
        if (!sr.ok) return err(ErrorKind::protocol, "server: %s", sr.error.c_str());
        if (sr.received != "ping")
            return err(ErrorKind::protocol, "server read \"%s\"", sr.received.c_str());
        return {};
    }
    return err(ErrorKind::protocol, "no application data from the server");
}

// --- TestLoop --------------------------------------------------------------

TestLoop::TestLoop() {
    uv_loop_init(&loop_);
}

TestLoop::~TestLoop() {
    close();
}

bool TestLoop::run_until(const std::function<bool()>& pred, uint64_t timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    UvTimer tick(&loop_, [] {});
    tick.start(5, 5);
    while (!pred() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    return pred();
}

int TestLoop::close() {
    if (closed_) return 0;
    closed_ = true;
    uv_run(&loop_, UV_RUN_DEFAULT);
    return uv_loop_close(&loop_);
}

// --- records -----------------------------------------------------------------

namespace {

std::vector<uint8_t> hkdf_expand_label(const char* digest, std::span<const uint8_t> secret,
                                       const std::string& label, size_t len) {
    std::string full = "tls13 " + label;
    std::vector<uint8_t> info = {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len),
                                 static_cast<uint8_t>(full.size())};
    info.insert(info.end(), full.begin(), full.end());
    info.push_back(0);  // empty context
    EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                          secret.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
        OSSL_PARAM_construct_end()};
    std::vector<uint8_t> out(len);
    if (EVP_KDF_derive(kctx, out.data(), len, p) != 1) die("HKDF-Expand-Label");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return out;
}

const char* cipher_name(Aead a) {
    switch (a) {
        case Aead::aes128_gcm:
            return "AES-128-GCM";
        case Aead::aes256_gcm:
            return "AES-256-GCM";
        case Aead::chacha20_poly1305:
            return "ChaCha20-Poly1305";
    }
    return "";
}

std::vector<uint8_t> nonce_for(const RecordKeys& k, uint64_t seq,
                               std::span<const uint8_t> explicit_nonce) {
    std::vector<uint8_t> nonce(12, 0);
    if (k.iv.size() == 4) {  // TLS 1.2 AES-GCM: salt || explicit
        std::memcpy(nonce.data(), k.iv.data(), 4);
        std::memcpy(nonce.data() + 4, explicit_nonce.data(), 8);
        return nonce;
    }
    std::memcpy(nonce.data(), k.iv.data(), 12);
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
    return nonce;
}

void be64(uint8_t* out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

// AEAD seal/open; `open` verifies and strips the tag.
bool aead(const RecordKeys& k, bool seal, std::span<const uint8_t> nonce,
          std::span<const uint8_t> aad, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, cipher_name(k.suite->aead), nullptr);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    bool ok = EVP_CipherInit_ex2(ctx, c, k.key.data(), nonce.data(), seal ? 1 : 0, nullptr) == 1;
    int n = 0;
    size_t body = seal ? in.size() : in.size() - 16;
    out.assign(body + (seal ? 16 : 0), 0);
    if (!seal)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
                                       const_cast<uint8_t*>(in.data() + body)) == 1;
    ok = ok && EVP_CipherUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1;
    ok = ok && EVP_CipherUpdate(ctx, out.data(), &n, in.data(), static_cast<int>(body)) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out.data() + n, &n) == 1;
    if (seal)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + body) == 1;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok;
}

}  // namespace

Result<RecordKeys> record_keys(uint16_t suite, std::span<const uint8_t> secret) {
    RecordKeys k;
    k.suite = find_suite(suite);
    if (!k.suite) return err(ErrorKind::internal, "unknown suite 0x%04x", suite);
    if (k.suite->version == kTls13) {
        k.key = hkdf_expand_label(k.suite->digest, secret, "key", k.suite->key_len);
        k.iv = hkdf_expand_label(k.suite->digest, secret, "iv", 12);
    } else {
        if (secret.size() != k.suite->key_len + k.suite->iv_len)
            return err(ErrorKind::internal, "secret length");
        k.key.assign(secret.begin(), secret.begin() + k.suite->key_len);
        k.iv.assign(secret.begin() + k.suite->key_len, secret.end());
    }
    return k;
}

std::vector<uint8_t> seal_record(const RecordKeys& k, uint64_t seq, uint8_t type,
                                 std::span<const uint8_t> plaintext) {
    std::vector<uint8_t> rec = {0, 0x03, 0x03, 0, 0};
    std::vector<uint8_t> ct;
    if (k.suite->version == kTls13) {
        std::vector<uint8_t> inner(plaintext.begin(), plaintext.end());
        inner.push_back(type);
        rec[0] = 23;
        size_t len = inner.size() + 16;
        rec[3] = static_cast<uint8_t>(len >> 8);
        rec[4] = static_cast<uint8_t>(len);
        if (!aead(k, true, nonce_for(k, seq, {}), std::span<const uint8_t>(rec.data(), 5), inner,
                  ct))
            die("seal");
        rec.insert(rec.end(), ct.begin(), ct.end());
        return rec;
    }
    uint8_t aad[13];
    be64(aad, seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = static_cast<uint8_t>(plaintext.size() >> 8);
    aad[12] = static_cast<uint8_t>(plaintext.size());
    uint8_t explicit_nonce[8];
    be64(explicit_nonce, seq);
    if (!aead(k, true, nonce_for(k, seq, explicit_nonce), aad, plaintext, ct)) die("seal");
    rec[0] = type;
    if (k.iv.size() == 4) rec.insert(rec.end(), explicit_nonce, explicit_nonce + 8);
    rec.insert(rec.end(), ct.begin(), ct.end());
    size_t len = rec.size() - 5;
    rec[3] = static_cast<uint8_t>(len >> 8);
    rec[4] = static_cast<uint8_t>(len);
    return rec;
}

size_t record_length(std::span<const uint8_t> buf) {
    if (buf.size() < 5) return 0;
    size_t len = 5 + (static_cast<size_t>(buf[3]) << 8 | buf[4]);
    return buf.size() >= len ? len : 0;
}

Result<std::pair<uint8_t, std::vector<uint8_t>>> open_record(const RecordKeys& k, uint64_t seq,
                                                             std::span<const uint8_t> records) {
    size_t len = record_length(records);
    if (len == 0) return err(ErrorKind::protocol, "no complete record (%zu bytes)", records.size());
    auto header = records.subspan(0, 5);
    auto body = records.subspan(5, len - 5);
    std::vector<uint8_t> pt;
    if (k.suite->version == kTls13) {
        if (body.size() < 17) return err(ErrorKind::protocol, "record too short");
        if (!aead(k, false, nonce_for(k, seq, {}), header, body, pt))
            return err(ErrorKind::protocol, "TLS 1.3 record does not open at seq %llu",
                       static_cast<unsigned long long>(seq));
        while (!pt.empty() && pt.back() == 0) pt.pop_back();
        if (pt.empty()) return err(ErrorKind::protocol, "no inner content type");
        uint8_t type = pt.back();
        pt.pop_back();
        return std::make_pair(type, pt);
    }
    size_t explicit_len = k.iv.size() == 4 ? 8 : 0;
    if (body.size() < explicit_len + 16) return err(ErrorKind::protocol, "record too short");
    size_t pt_len = body.size() - explicit_len - 16;
    uint8_t aad[13];
    be64(aad, seq);
    aad[8] = header[0];
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = static_cast<uint8_t>(pt_len >> 8);
    aad[12] = static_cast<uint8_t>(pt_len);
    if (!aead(k, false, nonce_for(k, seq, body.subspan(0, explicit_len)), aad,
              body.subspan(explicit_len), pt))
        return err(ErrorKind::protocol, "TLS 1.2 record does not open at seq %llu",
                   static_cast<unsigned long long>(seq));
    return std::make_pair(header[0], pt);
}

void read_available(int fd, std::vector<uint8_t>& buf, size_t want, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (buf.size() < want && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        uint8_t tmp[16384];
        ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n <= 0) return;
        buf.insert(buf.end(), tmp, tmp + n);
    }
}

std::vector<uint8_t> reference_prf(const char* digest, std::span<const uint8_t> secret,
                                   const std::string& label, std::span<const uint8_t> seed,
                                   size_t length) {
    const EVP_MD* md = std::string(digest) == "SHA384" ? EVP_sha384() : EVP_sha256();
    std::vector<uint8_t> ls(label.begin(), label.end());
    ls.insert(ls.end(), seed.begin(), seed.end());
    auto hmac = [&](std::span<const uint8_t> data) {
        std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
        unsigned int n = 0;
        HMAC(md, secret.data(), static_cast<int>(secret.size()), data.data(), data.size(),
             out.data(), &n);
        out.resize(n);
        return out;
    };
    std::vector<uint8_t> a = hmac(ls);  // A(1)
    std::vector<uint8_t> out;
    while (out.size() < length) {
        std::vector<uint8_t> in = a;
        in.insert(in.end(), ls.begin(), ls.end());
        auto block = hmac(in);
        out.insert(out.end(), block.begin(), block.end());
        a = hmac(a);
    }
    out.resize(length);
    return out;
}

std::vector<uint8_t> to_vector(std::span<const uint8_t> s) {
    return {s.begin(), s.end()};
}

Status check_data_path(const ipc::HandshakeDone& done, TestClient& client, int server_fd,
                       const std::string& expect) {
    auto ck = record_keys(done.cipher_suite, done.client_secret.view());
    auto sk = record_keys(done.cipher_suite, done.server_secret.view());
    if (!ck || !sk)
        return err(ErrorKind::internal, "record keys: %s", (!ck ? ck : sk).message().c_str());
    std::vector<uint8_t> in = done.leftover;
    for (int i = 0; i < 40 && record_length(in) == 0; ++i) {
        size_t want = in.size() + 1;
        read_available(server_fd, in, want, 100);
    }
    auto rec = open_record(*ck, done.client_seq, in);
    if (!rec) return err(ErrorKind::protocol, "client record: %s", rec.message().c_str());
    if (rec->first != 23) return err(ErrorKind::protocol, "client record of type %u", rec->first);
    std::string got(rec->second.begin(), rec->second.end());
    if (got != expect)
        return err(ErrorKind::protocol, "client sent \"%s\", expected \"%s\"", got.c_str(),
                   expect.c_str());
    auto out = seal_record(*sk, done.server_seq, 23, as_bytes("pong"));
    if (send(server_fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
        return err(ErrorKind::io, "send: %s", strerror(errno));
    auto back = client.read_app_data();
    if (!back) return err(ErrorKind::protocol, "client read: %s", back.message().c_str());
    if (*back != "pong") return err(ErrorKind::protocol, "client read \"%s\"", back->c_str());
    return {};
}

}  // namespace tlsward::cptest
