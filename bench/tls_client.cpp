#include "bench/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <cstring>

#include "bench/clock.hpp"
#include "common/openssl_error.hpp"

namespace tlsward::bench {
namespace {

constexpr size_t kIoChunk = 64 * 1024;

// One loop per thread and callbacks never nest, so one buffer each way per
// thread is enough: input is handed to OpenSSL (or the handler) at once.
thread_local uint8_t t_read_buf[kIoChunk];
thread_local uint8_t t_plain_buf[kIoChunk];
thread_local uint8_t t_write_buf[kIoChunk];

struct WriteReq {
    uv_write_t req;
    size_t len;
    uint8_t data[1];  // len bytes follow (allocated with malloc)
};

WriteReq* new_write_req(size_t len) {
    auto* w = static_cast<WriteReq*>(std::malloc(sizeof(WriteReq) + len));
    if (w == nullptr) std::abort();
    w->len = len;
    return w;
}

}  // namespace

Result<std::unique_ptr<ClientContext>> ClientContext::create(const Options& o) {
    std::unique_ptr<ClientContext> c(new ClientContext());
    c->sni_ = o.sni;
    c->resume_ = o.resume;
    c->libctx_ = OSSL_LIB_CTX_new();
    if (c->libctx_ == nullptr)
        return err(ErrorKind::internal, "OSSL_LIB_CTX_new: %s", openssl_errors().c_str());
    c->ctx_ = SSL_CTX_new_ex(c->libctx_, nullptr, TLS_client_method());
    if (c->ctx_ == nullptr)
        return err(ErrorKind::internal, "SSL_CTX_new_ex: %s", openssl_errors().c_str());
    SSL_CTX* ctx = c->ctx_;
    int version = o.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    if (SSL_CTX_set_min_proto_version(ctx, version) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, version) != 1)
        return err(ErrorKind::internal, "setting the TLS version: %s", openssl_errors().c_str());
    if (!o.cipher.empty()) {
        int ok = o.tls12 ? SSL_CTX_set_cipher_list(ctx, o.cipher.c_str())
                         : SSL_CTX_set_ciphersuites(ctx, o.cipher.c_str());
        if (ok != 1)
            return err(ErrorKind::config, "--cipher %s: %s", o.cipher.c_str(),
                       openssl_errors().c_str());
    }
    if (SSL_CTX_set1_groups_list(ctx, o.groups.c_str()) != 1)
        return err(ErrorKind::config, "--groups %s: %s", o.groups.c_str(),
                   openssl_errors().c_str());
    // The bench measures servers, not certificate path validation: the
    // handshake's signature is still checked by OpenSSL, the chain is not.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_app_data(ctx, c.get());
    if (o.resume) {
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, &ClientContext::on_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    return c;
}

ClientContext::~ClientContext() {
    if (session_ != nullptr) SSL_SESSION_free(session_);
    SSL_CTX_free(ctx_);
    OSSL_LIB_CTX_free(libctx_);
}

int ClientContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<ClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    if (self->session_ != nullptr) SSL_SESSION_free(self->session_);
    self->session_ = session;
    return 1;  // we keep the reference
}

TlsConn* TlsConn::start(uv_loop_t* loop, ClientContext& ctx, const sockaddr* addr,
                        Handler* handler) {
    auto* c = new TlsConn(ctx, handler);
    c->start_ns_ = now_ns();
    uv_tcp_init(loop, &c->tcp_);
    c->tcp_.data = c;
    c->connect_req_.data = c;
    int r = uv_tcp_connect(&c->connect_req_, &c->tcp_, addr, &TlsConn::on_connect);
    if (r != 0) c->fail(std::string("connect: ") + uv_strerror(r));
    return c;
}

TlsConn::~TlsConn() {
    SSL_free(ssl_);  // frees both BIOs
}

bool TlsConn::resumed() const {
    return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

std::string TlsConn::describe() const {
    if (ssl_ == nullptr || !established_) return "";
    std::string out = SSL_get_version(ssl_);
    out += " ";
    out += SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
    int group = SSL_get_negotiated_group(ssl_);
    if (group != 0) {
        const char* name = SSL_group_to_name(ssl_, group);
        out += " ";
        out += name != nullptr ? name : "?";
    }
    if (X509* cert = SSL_get0_peer_certificate(ssl_)) {
        if (EVP_PKEY* key = X509_get0_pubkey(cert))
            out += ", server key " + std::string(EVP_PKEY_get0_type_name(key)) + " " +
                   std::to_string(EVP_PKEY_get_bits(key)) + " bits";
    }
    return out;
}

void TlsConn::on_connect(uv_connect_t* req, int status) {
    auto* c = static_cast<TlsConn*>(req->data);
    if (c->closed_) return;
    if (status != 0) return c->fail(std::string("connect: ") + uv_strerror(status));
    uv_tcp_nodelay(&c->tcp_, 1);
    c->ssl_ = SSL_new(c->ctx_.ssl_ctx());
    if (c->ssl_ == nullptr) return c->fail("SSL_new: " + openssl_errors());
    c->rbio_ = BIO_new(BIO_s_mem());
    c->wbio_ = BIO_new(BIO_s_mem());
    if (c->rbio_ == nullptr || c->wbio_ == nullptr) {
        BIO_free(c->rbio_);
        BIO_free(c->wbio_);
        c->rbio_ = c->wbio_ = nullptr;
        return c->fail("BIO_new: " + openssl_errors());
    }
    BIO_set_mem_eof_return(c->rbio_, -1);
    SSL_set_bio(c->ssl_, c->rbio_, c->wbio_);
    SSL_set_connect_state(c->ssl_);
    if (!c->ctx_.sni().empty()) SSL_set_tlsext_host_name(c->ssl_, c->ctx_.sni().c_str());
    if (c->ctx_.resume() && c->ctx_.session() != nullptr) {
        // A copy per connection: OpenSSL marks a TLS 1.3 session it has
        // resumed as used up, and the benchmark reuses one ticket throughout.
        SSL_SESSION* copy = SSL_SESSION_dup(c->ctx_.session());
        if (copy != nullptr) {
            SSL_set_session(c->ssl_, copy);
            SSL_SESSION_free(copy);
        }
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), &TlsConn::on_alloc, &TlsConn::on_read);
    c->drive_handshake();
}

void TlsConn::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    buf->base = reinterpret_cast<char*>(t_read_buf);
    buf->len = sizeof t_read_buf;
}

void TlsConn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<TlsConn*>(s->data);
    if (c->closed_) return;
    if (nread == 0) return;
    if (nread < 0) {
        if (c->closing_) return c->finish_close();
        return c->fail(nread == UV_EOF
                           ? "closed by the server"
                           : std::string("read: ") + uv_strerror(static_cast<int>(nread)));
    }
    if (BIO_write(c->rbio_, buf->base, static_cast<int>(nread)) != nread)
        return c->fail("BIO_write: " + openssl_errors());
    if (!c->established_)
        c->drive_handshake();
    else
        c->read_records();
}

void TlsConn::drive_handshake() {
    int r = SSL_do_handshake(ssl_);
    if (r == 1) {
        flush();
        if (closed_) return;
        established_ = true;
        handshake_ns_ = now_ns();
        handler_->on_handshake(*this);
        // Records that came with the server's last flight (tickets, data),
        // in the read BIO or already in OpenSSL's read-ahead buffer.
        if (!closed_ && !closing_) read_records();
        return;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
        flush();
        return;
    }
    fail("handshake: " + openssl_errors());
}

void TlsConn::read_records() {
    while (!closed_) {
        int n = SSL_read(ssl_, t_plain_buf, sizeof t_plain_buf);
        if (n > 0) {
            if (!closing_) handler_->on_data(*this, t_plain_buf, static_cast<size_t>(n));
            continue;
        }
        int e = SSL_get_error(ssl_, n);
        if (e == SSL_ERROR_WANT_READ) break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            if (closing_) return finish_close();
            return fail("close_notify from the server");
        }
        return fail("read: " + openssl_errors());
    }
    if (closed_) return;
    flush();  // e.g. the answer to a KeyUpdate
    if (!closed_ && !closing_) handler_->on_input(*this);
}

void TlsConn::write(const void* data, size_t len) {
    if (closed_ || closing_ || !established_) return;
    const auto* p = static_cast<const uint8_t*>(data);
    while (len > 0) {
        int chunk = static_cast<int>(len > kIoChunk ? kIoChunk : len);
        int n = SSL_write(ssl_, p, chunk);
        if (n <= 0) return fail("write: " + openssl_errors());
        p += n;
        len -= static_cast<size_t>(n);
    }
    flush();
}

void TlsConn::flush() {
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    while (!closed_) {
        size_t pending = BIO_ctrl_pending(wbio_);
        if (pending == 0) return;
        if (tcp_.write_queue_size == 0 && pending <= sizeof t_write_buf) {
            // The common case: try the socket directly, queue only the rest.
            int n = BIO_read(wbio_, t_write_buf, static_cast<int>(pending));
            if (n <= 0) return fail("BIO_read: " + openssl_errors());
            uv_buf_t b =
                uv_buf_init(reinterpret_cast<char*>(t_write_buf), static_cast<unsigned>(n));
            int w = uv_try_write(stream, &b, 1);
            if (w == n) continue;
            if (w < 0 && w != UV_EAGAIN) return fail(std::string("write: ") + uv_strerror(w));
            size_t done = w > 0 ? static_cast<size_t>(w) : 0;
            WriteReq* req = new_write_req(static_cast<size_t>(n) - done);
            std::memcpy(req->data, t_write_buf + done, req->len);
            req->req.data = this;
            uv_buf_t rb =
                uv_buf_init(reinterpret_cast<char*>(req->data), static_cast<unsigned>(req->len));
            int r = uv_write(&req->req, stream, &rb, 1, &TlsConn::on_write);
            if (r != 0) {
                std::free(req);
                return fail(std::string("write: ") + uv_strerror(r));
            }
            continue;
        }
        WriteReq* req = new_write_req(pending);
        int n = BIO_read(wbio_, req->data, static_cast<int>(pending));
        if (n <= 0) {
            std::free(req);
            return fail("BIO_read: " + openssl_errors());
        }
        req->len = static_cast<size_t>(n);
        req->req.data = this;
        uv_buf_t rb = uv_buf_init(reinterpret_cast<char*>(req->data), static_cast<unsigned>(n));
        int r = uv_write(&req->req, stream, &rb, 1, &TlsConn::on_write);
        if (r != 0) {
            std::free(req);
            return fail(std::string("write: ") + uv_strerror(r));
        }
    }
}

void TlsConn::on_write(uv_write_t* req, int status) {
    auto* c = static_cast<TlsConn*>(req->data);
    std::free(reinterpret_cast<WriteReq*>(req));  // req is the first member
    if (c->closed_) return;
    if (status != 0) return c->fail(std::string("write: ") + uv_strerror(status));
    if (c->tcp_.write_queue_size != 0) return;
    if (c->closing_) return c->finish_close();
    c->handler_->on_drained(*c);
}

void TlsConn::close() {
    if (closed_ || closing_) return;
    closing_ = true;
    if (ssl_ != nullptr && established_) {
        SSL_shutdown(ssl_);  // queues close_notify; the server's is not awaited
        flush();
        if (closed_) return;
    }
    if (tcp_.write_queue_size == 0) finish_close();
}

void TlsConn::abort(const char* error) {
    if (closed_) return;
    if (error != nullptr) error_ = error;
    finish_close();
}

void TlsConn::discard() {
    handler_ = nullptr;
    finish_close();
}

void TlsConn::fail(std::string error) {
    if (closed_) return;
    ERR_clear_error();
    error_ = std::move(error);
    finish_close();
}

void TlsConn::finish_close() {
    if (closed_) return;
    closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &TlsConn::on_close);
}

void TlsConn::on_close(uv_handle_t* h) {
    auto* c = static_cast<TlsConn*>(h->data);
    if (c->handler_ != nullptr)
        c->handler_->on_closed(*c, c->error_.empty() ? nullptr : c->error_.c_str());
    delete c;
}

}  // namespace tlsward::bench
