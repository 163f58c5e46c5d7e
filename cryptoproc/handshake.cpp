#include "cryptoproc/handshake.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <cerrno>
#include <cstring>

#include "common/openssl_error.hpp"
#include "common/tls_alerts.hpp"

namespace tlsward::cryptoproc {

namespace {

// recv()s per loop turn for one handshake before it yields to the others.
constexpr int kMaxReadsPerTurn = 8;

// Two system calls per job: SO_TYPE fails with ENOTSOCK on anything but a
// socket, so no fstat is needed.
Status check_lent_socket(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return errno == ENOTSOCK
                   ? err(ErrorKind::protocol, "the lent fd is not a socket")
                   : err(ErrorKind::io, "getsockopt(SO_TYPE) of the lent fd: %s", strerror(errno));
    if (type != SOCK_STREAM)
        return err(ErrorKind::protocol, "the lent socket is not a stream socket");
    // Every recv and send here says MSG_DONTWAIT and nothing changes the
    // flags of the description netproc shares with us; netproc makes every
    // socket non-blocking, so a blocking one is not what it meant to lend.
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return err(ErrorKind::io, "fcntl(F_GETFL) of the lent socket: %s", strerror(errno));
    if ((fl & O_NONBLOCK) == 0)
        return err(ErrorKind::protocol, "the lent socket is blocking (netproc sets O_NONBLOCK)");
    return {};
}

}  // namespace

uint64_t HandshakeCounters::failed_total() const {
    uint64_t n = 0;
    for (uint64_t v : failed) n += v;
    return n;
}

Result<std::unique_ptr<Handshake>> Handshake::create(uv_loop_t* loop, FdPoller* poller,
                                                     const ServiceContext& service,
                                                     const HandshakeRequest& request, UniqueFd fd,
                                                     Completion done) {
    if (!service.ctx) return err(ErrorKind::config, "%s", service.unsupported.c_str());
    if (auto s = check_lent_socket(fd.get()); !s) return s.error();
    std::unique_ptr<Handshake> hs(
        new Handshake(loop, service, request, std::move(fd), std::move(done)));
    SSL* ssl = hs->ssl_.get();
    if (!ssl) return err(ErrorKind::internal, "SSL_new: %s", openssl_errors().c_str());

    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (!rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        return err(ErrorKind::internal, "BIO_new(BIO_s_mem): %s", openssl_errors().c_str());
    }
    // An empty read BIO means "wait for more", not end of stream.
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);  // the SSL owns both from here
    hs->rbio_ = rbio;
    hs->wbio_ = wbio;

    hs->client_ = service.role == ipc::TlsRole::client;
    if (hs->client_)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    // The context already allows every suite; narrowing it per connection
    // (string parsing and list building in OpenSSL) is only worth its cost
    // when netproc lacks one of the AEADs.
    if (request.aead_mask != ipc::kAeadAll)
        if (auto s = restrict_ciphers(ssl, request.aead_mask); !s) return s.error();
    if (auto s = hs->keys_.attach(ssl); !s) return s.error();
    if (auto s = attach_notes(ssl, &hs->notes_); !s) return s.error();
    if (auto s = prepare_ssl(ssl, service, request.server_name); !s) return s.error();
    SSL_set_app_data(ssl, hs.get());
    SSL_set_info_callback(ssl, &Handshake::on_info);
    SSL_set_msg_callback(ssl, &Handshake::on_msg);
    SSL_set_msg_callback_arg(ssl, hs.get());

    Handshake* self = hs.get();
    hs->watch_.emplace(*poller, hs->fd_.get(), [self](int status, int) {
        if (self->finished_) return;
        if (status < 0) {
            self->on_socket_error();
            return;
        }
        self->drive();
    });
    hs->deadline_ = std::make_unique<UvTimer>(loop, [self] {
        if (self->finished_) return;
        self->fail(ipc::FailReason::timeout, 0,
                   strfmt("no handshake within %u ms", self->req_.deadline_ms));
    });
    return hs;
}

Handshake::Handshake(uv_loop_t* loop, const ServiceContext& service,
                     const HandshakeRequest& request, UniqueFd fd, Completion done)
    : loop_(loop),
      req_(request),
      service_name_(service.name),
      done_(std::move(done)),
      fd_(std::move(fd)),
      ssl_(SSL_new(service.ctx.get())) {
    if (req_.deadline_ms == 0) req_.deadline_ms = service.handshake_timeout_ms;
}

Handshake::~Handshake() {
    // The watch goes first (the fd leaves the epoll set while it is still
    // open: netproc's copy keeps the socket alive, and with it our
    // registration), then the SSL (which wipes its keys), then our copy of
    // the fd.
    watch_.reset();
    deadline_.reset();
    ssl_.reset();
    keys_.wipe();
    fd_.reset();
}

void Handshake::start() {
    started_ms_ = uv_now(loop_);
    deadline_->start(req_.deadline_ms);
    if (client_) {
        // A connected socket is writable at once: the first poll callback
        // writes our ClientHello.
        watch_for(UV_WRITABLE);
        return;
    }
    want_read_ = true;
    drive();
}

void Handshake::abort() {
    if (finished_) return;
    finished_ = true;
    stop_io();
    ssl_.reset();
    keys_.wipe();
    done_ = nullptr;
}

void Handshake::expire(const std::string& why) {
    if (!finished_) fail(ipc::FailReason::timeout, 0, why);
}

uint64_t Handshake::elapsed_ms() const {
    return uv_now(loop_) - started_ms_;
}

void Handshake::drive() {
    int reads = 0;
    // OpenSSL asked for input and has none: read before asking it again
    // (an SSL_do_handshake that can only say WANT_READ is a state machine
    // walk for nothing).
    bool need_input = want_read_ && !ssl_done_ && BIO_ctrl_pending(rbio_) == 0;
    while (!finished_) {
        if (!need_input && !ssl_done_) {
            ERR_clear_error();
            int r = SSL_do_handshake(ssl_.get());
            int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
            std::string ossl =
                e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL ? openssl_errors() : std::string();
            collect_output();
            if (r == 1) {
                ssl_done_ = true;
                want_read_ = false;
            } else if (e == SSL_ERROR_WANT_READ) {
                want_read_ = true;
            } else {
                flush_best_effort();  // the alert, if OpenSSL wrote one
                fail_from_ssl(e, ossl);
                return;
            }
        }
        need_input = false;
        bool flight = out_off_ < out_.size();
        Io sent = send_output();
        if (sent == Io::error) {
            fail_from_io(sent, "send");
            return;
        }
        if (ssl_done_) {
            // Done only once the peer has everything (our Finished).
            if (out_off_ == out_.size())
                succeed();
            else
                update_poll();
            return;
        }
        // A flight just went out whole and OpenSSL wants the answer, which
        // needs a round trip: wait for it rather than recv() an EAGAIN. (If
        // it is there already, the level-triggered watch says so at once.)
        if (flight && sent == Io::progress) {
            update_poll();
            return;
        }
        if (reads++ == kMaxReadsPerTurn) {
            update_poll();
            return;
        }
        Io got = read_input();
        if (got == Io::progress) continue;
        if (got == Io::would_block) {
            update_poll();
            return;
        }
        fail_from_io(got, "recv");
        return;
    }
}

Handshake::Io Handshake::read_input() {
    // Bytes OpenSSL has not consumed yet stay in the read BIO and become
    // the leftover; keep the BIO within what HANDSHAKE_DONE can carry.
    size_t pending = BIO_ctrl_pending(rbio_);
    if (pending >= kMaxRead) {
        errno_ = 0;
        return Io::error;
    }
    static uint8_t buf[kMaxRead];
    ssize_t n;
    do {
        n = recv(fd_.get(), buf, kMaxRead - pending, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (BIO_write(rbio_, buf, static_cast<int>(n)) != n) {
            errno_ = ENOMEM;
            return Io::error;
        }
        return Io::progress;
    }
    if (n == 0) return Io::eof;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::would_block;
    errno_ = errno;
    return Io::error;
}

Handshake::Io Handshake::send_output() {
    while (out_off_ < out_.size()) {
        ssize_t n = send(fd_.get(), out_.data() + out_off_, out_.size() - out_off_,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            out_off_ += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::would_block;
        errno_ = n < 0 ? errno : EIO;
        return Io::error;
    }
    out_.clear();
    out_off_ = 0;
    return Io::progress;
}

void Handshake::collect_output() {
    size_t n = BIO_ctrl_pending(wbio_);
    if (n == 0) return;
    if (out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
    }
    size_t at = out_.size();
    out_.resize(at + n);
    int got = BIO_read(wbio_, out_.data() + at, static_cast<int>(n));
    out_.resize(at + static_cast<size_t>(got > 0 ? got : 0));
}

void Handshake::flush_best_effort() {
    collect_output();
    (void)send_output();
}

void Handshake::update_poll() {
    if (!watch_ || finished_) return;
    int events = 0;
    if (want_read_ && !ssl_done_) events |= UV_READABLE;
    if (out_off_ < out_.size()) events |= UV_WRITABLE;
    watch_for(events);
}

void Handshake::watch_for(int events) {
    // The kernel refused the watch (out of memory; logged): nothing would
    // wake this handshake before its deadline.
    if (!watch_->set_events(events))
        fail(ipc::FailReason::internal, 0, "epoll_ctl refused the lent socket's watch");
}

void Handshake::stop_io() {
    if (watch_) watch_->set_events(0);  // EPOLL_CTL_DEL now
    if (deadline_) deadline_->stop();
}

void Handshake::succeed() {
    SSL* ssl = ssl_.get();
    if (SSL_has_pending(ssl) || SSL_pending(ssl) > 0) {
        fail(ipc::FailReason::internal, 0,
             "OpenSSL buffered bytes past the handshake (refusing to hand off)");
        return;
    }
    auto done = export_handshake(ssl, keys_, records_after_finished_);
    if (!done) {
        fail(ipc::FailReason::internal, 0, "key export: " + done.message());
        return;
    }
    size_t left = BIO_ctrl_pending(rbio_);
    if (left > ipc::kMaxLeftover) {
        fail(ipc::FailReason::internal, 0,
             strfmt("%zu bytes past the handshake exceed the leftover limit", left));
        return;
    }
    done->leftover.resize(left);
    if (left > 0 &&
        BIO_read(rbio_, done->leftover.data(), static_cast<int>(left)) != static_cast<int>(left)) {
        fail(ipc::FailReason::internal, 0, "reading the leftover from the read BIO failed");
        return;
    }
    done->conn_id = req_.conn_id;
    done->helper_generation = req_.helper_generation;
    finish(std::move(*done));
}

void Handshake::fail(ipc::FailReason reason, uint8_t alert, std::string detail) {
    ipc::HandshakeFailed f;
    f.reason = reason;
    f.alert = alert;
    f.detail = std::move(detail);
    finish(std::move(f));
}

void Handshake::fail_from_ssl(int ssl_error, const std::string& ossl) {
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        fail(ipc::FailReason::alert_received, 0, "peer sent close_notify during the handshake");
        return;
    }
    // A callback's reason (SNI, ALPN, certificate) says more than OpenSSL's.
    std::string why = notes_.failure.empty() ? ossl : notes_.failure + " (" + ossl + ")";
    if (ssl_error != SSL_ERROR_SSL) {
        fail(ipc::FailReason::internal, 0,
             strfmt("SSL_do_handshake: SSL_get_error %d: %s", ssl_error,
                    ossl.empty() ? "no OpenSSL error reported" : ossl.c_str()));
        return;
    }
    if (alert_received_ >= 0) {
        fail(ipc::FailReason::alert_received, static_cast<uint8_t>(alert_received_),
             strfmt("peer sent alert %s: %s", tls_alert_name(static_cast<uint8_t>(alert_received_)),
                    why.c_str()));
    } else if (alert_sent_ >= 0) {
        fail(ipc::FailReason::alert_sent, static_cast<uint8_t>(alert_sent_),
             strfmt("sent alert %s: %s", tls_alert_name(static_cast<uint8_t>(alert_sent_)),
                    why.c_str()));
    } else {
        // OpenSSL stays silent on bytes that are not TLS at all (wrong
        // version number, an HTTP request): nothing was sent.
        fail(ipc::FailReason::io_error, 0, "peer does not speak TLS: " + ossl);
    }
}

void Handshake::on_socket_error() {
    // The watch saw EPOLLERR (reported as UV_EBADF, libuv's convention; the
    // fd is this job's own until ~Handshake, which removes the watch first).
    // A client that resets the connection mid-handshake lands here: the
    // socket's pending error says so, and it is peer_closed like a reset
    // that recv() reports. Logging "poll: bad file descriptor" for it was
    // libuv's word, not an fd gone wrong.
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
    if (soerr == 0) {
        // Nothing pending after all: recv() and send() will tell (the watch
        // dropped its interest, so update_poll registers it again).
        drive();
        return;
    }
    errno_ = soerr;
    fail_from_io(Io::error, "socket");
}

void Handshake::fail_from_io(Io io, const char* what) {
    if (io == Io::eof) {
        fail(ipc::FailReason::peer_closed, 0, "peer closed the connection during the handshake");
        return;
    }
    if (errno_ == ECONNRESET || errno_ == EPIPE || errno_ == ECONNABORTED) {
        fail(ipc::FailReason::peer_closed, 0, strfmt("%s: %s", what, strerror(errno_)));
        return;
    }
    if (errno_ == 0) {
        fail(ipc::FailReason::internal, 0, "read BIO holds more than a record without progress");
        return;
    }
    fail(ipc::FailReason::io_error, 0, strfmt("%s: %s", what, strerror(errno_)));
}

void Handshake::finish(HandshakeResult&& result) {
    if (finished_) return;
    finished_ = true;
    stop_io();
    ssl_.reset();  // SSL_free wipes OpenSSL's copies of the keys
    rbio_ = nullptr;
    wbio_ = nullptr;
    keys_.wipe();
    out_.clear();
    // A local copy: the callback may drop the last reference to us only
    // through the owner's deferred destruction, never mid-call.
    Completion done = std::move(done_);
    if (done) done(*this, std::move(result));
}

void Handshake::on_info(const SSL* ssl, int where, int ret) {
    if ((where & SSL_CB_ALERT) == 0) return;
    auto* self = static_cast<Handshake*>(SSL_get_app_data(ssl));
    if (!self) return;
    int desc = ret & 0xff;
    bool fatal = (ret >> 8) == SSL3_AL_FATAL;
    int& slot = (where & SSL_CB_WRITE) ? self->alert_sent_ : self->alert_received_;
    if (slot < 0 || fatal) slot = desc;
}

void Handshake::on_msg(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                       void* arg) {
    auto* self = static_cast<Handshake*>(arg);
    if (!self || !write_p) return;
    // Every record written reports its header; our Finished reports itself
    // as a handshake message right after its record. What we write after
    // it runs under the application keys (TLS 1.3 tickets) or after the
    // Finished record (TLS 1.2), and moves our first sequence number.
    if (content_type == SSL3_RT_HEADER) {
        if (self->own_finished_written_) ++self->records_after_finished_;
    } else if (content_type == SSL3_RT_HANDSHAKE && len >= 1 &&
               static_cast<const uint8_t*>(buf)[0] == SSL3_MT_FINISHED) {
        self->own_finished_written_ = true;
    }
}

}  // namespace tlsward::cryptoproc
