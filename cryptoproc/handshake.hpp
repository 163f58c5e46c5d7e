// One handshake on a lent socket: OpenSSL runs over memory BIOs, the bytes
// move between them and the socket here, driven by the libuv loop, with a
// deadline. Many run at once in one loop.
//
// The socket is one open file description shared with netproc: flags and
// socket options are never changed, shutdown() is never called; the helper
// only recv()s (when OpenSSL wants input) and send()s, both with
// MSG_DONTWAIT, and closes its copy after its watch is gone.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/fd_poller.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "cryptoproc/key_export.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "cryptoproc/tls_context.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"

namespace tlsward::cryptoproc {

// Largest recv() into the read BIO; with read-ahead off OpenSSL consumes
// whole records only, so this also bounds the leftover (ipc::kMaxLeftover).
constexpr size_t kMaxRead = ipc::kMaxLeftover;

using HandshakeResult = std::variant<ipc::HandshakeDone, ipc::HandshakeFailed>;

// Outcome counters, for metrics.
struct HandshakeCounters {
    uint64_t started = 0;
    uint64_t ok = 0;
    std::array<uint64_t, static_cast<size_t>(ipc::FailReason::overloaded) + 1> failed{};
    uint64_t aborted = 0;  // dropped without a reply (netproc channel gone)
    uint64_t in_flight = 0;
    uint64_t elapsed_ms = 0;  // time spent on handshakes that finished (ok or failed)

    uint64_t failed_total() const;
    uint64_t& failed_by(ipc::FailReason r) { return failed[static_cast<size_t>(r)]; }
};

struct HandshakeRequest {
    uint64_t job_id = 0;
    uint64_t conn_id = 0;
    uint32_t deadline_ms = 10000;
    uint8_t aead_mask = ipc::kAeadAll;
    uint32_t helper_generation = 0;
    std::string server_name;  // client role: SNI from the job (empty: the service's)
};

class Handshake {
public:
    // Called once with the outcome, from a loop callback or from start()
    // (never from create()); the SSL is freed and polling stopped before.
    // The owner must not destroy the Handshake inside this call (defer).
    using Completion = std::function<void(Handshake&, HandshakeResult&&)>;

    // Checks the lent fd (a non-blocking stream socket) and sets up the
    // SSL; nothing is read or written before start().
    static Result<std::unique_ptr<Handshake>> create(uv_loop_t* loop, FdPoller* poller,
                                                     const ServiceContext& service,
                                                     const HandshakeRequest& request, UniqueFd fd,
                                                     Completion done);
    ~Handshake();
    Handshake(const Handshake&) = delete;
    Handshake& operator=(const Handshake&) = delete;

    // Arms the deadline timer and starts: a server reads the ClientHello
    // at once (netproc lends the socket once all of it has arrived, so a
    // wait for readability would be one more loop turn and two epoll_ctl),
    // and may finish (a fatal alert) before this returns; a client waits
    // for the socket to be writable, to send its ClientHello.
    void start();
    // Stops without a completion (the job's channel is gone). Safe from
    // any callback; the fd is closed when the object is destroyed.
    void abort();
    // Ends the handshake now with HANDSHAKE_FAILED timeout (the helper's
    // drain deadline passed); the completion runs before this returns.
    void expire(const std::string& why);

    const HandshakeRequest& request() const { return req_; }
    const std::string& service_name() const { return service_name_; }
    bool client() const { return client_; }  // tlsward connects to the target
    bool finished() const { return finished_; }
    uint64_t elapsed_ms() const;

private:
    Handshake(uv_loop_t* loop, const ServiceContext& service, const HandshakeRequest& request,
              UniqueFd fd, Completion done);

    enum class Io { progress, would_block, eof, error };

    void drive();
    Io read_input();
    Io send_output();
    void collect_output();
    void flush_best_effort();
    void succeed();
    void fail(ipc::FailReason reason, uint8_t alert, std::string detail);
    void fail_from_ssl(int ssl_error, const std::string& ossl);
    void fail_from_io(Io io, const char* what);
    void on_socket_error();  // the watch reported EPOLLERR
    void finish(HandshakeResult&& result);
    void stop_io();
    void update_poll();
    void watch_for(int events);  // fails the handshake if the kernel refuses

    static void on_info(const SSL* ssl, int where, int ret);
    static void on_msg(int write_p, int version, int content_type, const void* buf, size_t len,
                       SSL* ssl, void* arg);

    uv_loop_t* loop_;
    HandshakeRequest req_;
    std::string service_name_;
    Completion done_;
    UniqueFd fd_;
    SslPtr ssl_;
    BIO* rbio_ = nullptr;  // owned by ssl_
    BIO* wbio_ = nullptr;  // owned by ssl_
    KeyCapture keys_;
    SslNotes notes_;
    bool client_ = false;
    std::vector<uint8_t> out_;  // handshake bytes not yet sent
    size_t out_off_ = 0;
    std::optional<FdWatch> watch_;
    std::unique_ptr<UvTimer> deadline_;
    uint64_t started_ms_ = 0;
    bool want_read_ = false;
    bool ssl_done_ = false;  // SSL_do_handshake returned 1
    bool finished_ = false;  // completion delivered or aborted
    int alert_sent_ = -1;
    int alert_received_ = -1;
    bool own_finished_written_ = false;
    uint64_t records_after_finished_ = 0;
    int errno_ = 0;
};

}  // namespace tlsward::cryptoproc
