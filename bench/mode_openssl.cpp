// openssl: what OpenSSL itself costs per full handshake on this machine,
// with no socket, no kernel and no server around it: a client and a
// server SSL in this one thread over memory BIOs, the client set up as in
// every other mode, the server with --cert/--key, no tickets and no
// session cache (as the full-handshake runs). Each side's CPU time is
// summed separately (CLOCK_THREAD_CPUTIME_ID around its calls).
//
// bench/compare uses it for the bounds under "The physical limit": the
// most handshakes per second any server built on this OpenSSL could reach
// with the load generator on the same cores, whatever it does around the
// library.
#include <openssl/ssl.h>
#include <time.h>

#include <memory>

#include "bench/clock.hpp"
#include "bench/modes.hpp"
#include "bench/tls_client.hpp"
#include "bench/usage.hpp"
#include "common/openssl_error.hpp"

namespace tlsward::bench {

namespace {

struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

Result<CtxPtr> server_context(const Options& o) {
    CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return err(ErrorKind::internal, "SSL_CTX_new: %s", openssl_errors().c_str());
    int version = o.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx.get(), version);
    SSL_CTX_set_max_proto_version(ctx.get(), version);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1)
        return err(ErrorKind::config, "--cert %s: %s", o.cert_file.c_str(),
                   openssl_errors().c_str());
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        return err(ErrorKind::config, "--key %s: %s", o.key_file.c_str(), openssl_errors().c_str());
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
        return err(ErrorKind::config, "--key does not match --cert: %s", openssl_errors().c_str());
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    return ctx;
}

// Moves what `from` wrote to `to`'s read BIO.
bool pump(BIO* from, BIO* to) {
    char buf[16384];
    int n = 0;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0)
        if (BIO_write(to, buf, n) != n) return false;
    return true;
}

struct Costs {
    uint64_t client_ns = 0;
    uint64_t server_ns = 0;
};

// Runs `f` and adds the CPU time it took to `into`.
template <class F>
auto charged(uint64_t& into, F&& f) {
    uint64_t t0 = thread_cpu_ns();
    auto r = f();
    into += thread_cpu_ns() - t0;
    return r;
}

// One side's SSL over two memory BIOs.
SslPtr new_ssl(SSL_CTX* ctx, bool client, const std::string& sni) {
    SslPtr ssl(SSL_new(ctx));
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) {
        BIO_free(in);
        BIO_free(out);
        return nullptr;
    }
    SSL_set_bio(ssl.get(), in, out);
    if (client) {
        SSL_set_connect_state(ssl.get());
        SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
    } else {
        SSL_set_accept_state(ssl.get());
    }
    return ssl;
}

// One handshake step of `ssl`: 1 done, 0 waiting for the peer, -1 failed.
int step(SSL* ssl) {
    int r = SSL_do_handshake(ssl);
    if (r == 1) return 1;
    return SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ ? 0 : -1;
}

// One full handshake; adds each side's CPU time to `c`.
Status one_handshake(ClientContext& client_ctx, SSL_CTX* server_ctx, Costs& c,
                     std::string* negotiated) {
    SslPtr cl =
        charged(c.client_ns, [&] { return new_ssl(client_ctx.ssl_ctx(), true, client_ctx.sni()); });
    SslPtr sv = charged(c.server_ns, [&] { return new_ssl(server_ctx, false, ""); });
    if (!cl || !sv) return err(ErrorKind::internal, "SSL_new: %s", openssl_errors().c_str());
    int client = 0;
    int server = 0;
    for (int round = 0; round < 8 && !(client == 1 && server == 1); ++round) {
        client = charged(c.client_ns, [&] { return step(cl.get()); });
        if (client < 0)
            return err(ErrorKind::internal, "client handshake: %s", openssl_errors().c_str());
        if (!pump(SSL_get_wbio(cl.get()), SSL_get_rbio(sv.get())))
            return err(ErrorKind::internal, "BIO_write to the server failed");
        server = charged(c.server_ns, [&] { return step(sv.get()); });
        if (server < 0)
            return err(ErrorKind::internal, "server handshake: %s", openssl_errors().c_str());
        if (!pump(SSL_get_wbio(sv.get()), SSL_get_rbio(cl.get())))
            return err(ErrorKind::internal, "BIO_write to the client failed");
    }
    if (client != 1 || server != 1)
        return err(ErrorKind::internal, "the handshake did not finish in 8 rounds");
    if (negotiated != nullptr && negotiated->empty())
        *negotiated = std::string(SSL_get_version(cl.get())) + " " +
                      SSL_CIPHER_get_name(SSL_get_current_cipher(cl.get()));
    charged(c.client_ns, [&] { return (cl.reset(), 0); });
    charged(c.server_ns, [&] { return (sv.reset(), 0); });
    return {};
}

}  // namespace

Status run_openssl(const Options& o, Report& r) {
    r.config("tls", o.tls12 ? "1.2" : "1.3");
    if (!o.cipher.empty()) r.config("cipher", o.cipher);
    r.config("groups", o.groups);
    r.config("cert", o.cert_file);
    r.config("duration_s", o.duration_s);
    r.config("warmup_s", o.warmup_s);
    auto client_ctx = ClientContext::create(o);
    if (!client_ctx) return client_ctx.error();
    auto server_ctx = server_context(o);
    if (!server_ctx) return server_ctx.error();
    progress(o, "full handshakes in this process over memory BIOs for %.1f s (+%.1f s warm-up)",
             o.duration_s, o.warmup_s);

    std::string negotiated;
    Costs warm;
    uint64_t warm_until = now_ns() + seconds_to_ns(o.warmup_s);
    while (now_ns() < warm_until)
        if (Status s = one_handshake(**client_ctx, server_ctx->get(), warm, &negotiated); !s)
            return s;
    Costs c;
    uint64_t n = 0;
    uint64_t start = now_ns();
    uint64_t until = start + seconds_to_ns(o.duration_s);
    while (now_ns() < until) {
        if (Status s = one_handshake(**client_ctx, server_ctx->get(), c, &negotiated); !s) return s;
        ++n;
    }
    double secs = static_cast<double>(now_ns() - start) / 1e9;
    if (!negotiated.empty()) r.config("negotiated", negotiated);
    // ns per handshake / 1e6 = ms per handshake.
    double per = n > 0 ? 1.0 / (static_cast<double>(n) * 1e6) : 0;
    r.section("one thread, both sides, no sockets");
    r.metric("handshakes", static_cast<double>(n), "", "full handshakes");
    r.metric("handshakes_per_s", static_cast<double>(n) / secs, "/s", "full handshakes per second");
    r.metric("server_cpu_ms_per_handshake", static_cast<double>(c.server_ns) * per, "ms",
             "server side CPU per handshake (OpenSSL alone)");
    r.metric("client_cpu_ms_per_handshake", static_cast<double>(c.client_ns) * per, "ms",
             "client side CPU per handshake (OpenSSL alone)");
    if (n == 0) return err(ErrorKind::internal, "no handshake completed");
    return {};
}

}  // namespace tlsward::bench
