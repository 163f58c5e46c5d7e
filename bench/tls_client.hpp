// The client side of every load mode: a non-blocking TLS connection on a
// libuv loop, OpenSSL working on memory BIOs (the socket is libuv's; OpenSSL
// only transforms bytes). One ClientContext per loop thread, each with its
// own OpenSSL library context, so threads share no provider locks or
// algorithm caches.
#pragma once

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "bench/options.hpp"
#include "common/result.hpp"

namespace tlsward::bench {

class ClientContext {
public:
    static Result<std::unique_ptr<ClientContext>> create(const Options& o);
    ~ClientContext();
    ClientContext(const ClientContext&) = delete;
    ClientContext& operator=(const ClientContext&) = delete;

    SSL_CTX* ssl_ctx() const { return ctx_; }
    const std::string& sni() const { return sni_; }
    bool resume() const { return resume_; }
    // The session to resume (the newest one the server gave), or null.
    SSL_SESSION* session() const { return session_; }

private:
    ClientContext() = default;
    static int on_new_session(SSL* ssl, SSL_SESSION* session);

    OSSL_LIB_CTX* libctx_ = nullptr;
    SSL_CTX* ctx_ = nullptr;
    SSL_SESSION* session_ = nullptr;
    std::string sni_;
    bool resume_ = false;
};

class TlsConn {
public:
    class Handler {
    public:
        virtual ~Handler() = default;
        virtual void on_handshake(TlsConn& c) = 0;
        virtual void on_data(TlsConn& /*c*/, const uint8_t* /*p*/, size_t /*n*/) {}
        // After each batch of input was processed (e.g. a session ticket arrived).
        virtual void on_input(TlsConn& /*c*/) {}
        // The socket took everything that was queued.
        virtual void on_drained(TlsConn& /*c*/) {}
        // Called once, after the socket is closed; `error` is null after close().
        // The connection is deleted when this returns.
        virtual void on_closed(TlsConn& c, const char* error) = 0;
    };

    // Connects and runs the handshake; the result arrives through `handler`.
    static TlsConn* start(uv_loop_t* loop, ClientContext& ctx, const sockaddr* addr,
                          Handler* handler);

    // Encrypts and sends (queues what the socket does not take at once).
    void write(const void* data, size_t len);
    // Bytes waiting in libuv's write queue.
    size_t queued() const { return tcp_.write_queue_size; }
    // close_notify, then close once the queue has drained.
    void close();
    // Closes at once (nothing more is sent).
    void abort(const char* error = nullptr);
    // Closes at once and never calls the handler again (its owner is going away).
    void discard();

    bool established() const { return established_; }
    // Established and neither closing nor closed: write() would send.
    bool writable() const { return established_ && !closing_ && !closed_; }
    bool resumed() const;
    int version() const { return ssl_ != nullptr ? SSL_version(ssl_) : 0; }
    // "TLSv1.3 TLS_AES_256_GCM_SHA384 x25519, server key EC 256 bits".
    std::string describe() const;
    uint64_t start_ns() const { return start_ns_; }
    uint64_t handshake_ns() const { return handshake_ns_; }

    void* user = nullptr;   // for the handler
    uint64_t user_u64 = 0;  // for the handler

    TlsConn(const TlsConn&) = delete;
    TlsConn& operator=(const TlsConn&) = delete;

private:
    TlsConn(ClientContext& ctx, Handler* handler) : ctx_(ctx), handler_(handler) {}
    ~TlsConn();

    static void on_connect(uv_connect_t* req, int status);
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_close(uv_handle_t* h);

    void drive_handshake();
    void read_records();
    void flush();
    void fail(std::string error);
    void finish_close();

    ClientContext& ctx_;
    Handler* handler_;
    uv_tcp_t tcp_{};
    uv_connect_t connect_req_{};
    SSL* ssl_ = nullptr;
    BIO* rbio_ = nullptr;  // ciphertext from the socket, for OpenSSL
    BIO* wbio_ = nullptr;  // ciphertext from OpenSSL, for the socket
    bool established_ = false;
    bool closing_ = false;
    bool closed_ = false;
    std::string error_;
    uint64_t start_ns_ = 0;
    uint64_t handshake_ns_ = 0;
};

}  // namespace tlsward::bench
