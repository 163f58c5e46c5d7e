// The record pump: one proxied connection's data path once a helper has
// handed over the keys. It moves bytes between the TLS socket and the plain
// socket through three pooled buffers and the record layer:
//
//   TLS peer -> tls_in -> read_records -> plain_out -> plain side
//   plain side -> recvmsg into record slots of tls_out -> seal -> TLS peer
//
// Each direction stops reading while the other side does not drain
// (backpressure), so a connection holds at most one block per buffer
// whatever the peers do. It runs the half-close in both directions, the
// closing alerts and the key rotation policy (key_rotation.hpp).
//
// It knows no loop, timer or watch: the connection (connection.cpp) tells
// it which socket is ready and what time it is, applies the interest it
// asks for, and looks after each call whether it ended, is failing (an
// alert is draining: linger) or finished. So it can be driven over plain
// socketpairs in tests (tests/unit/test_record_pump.cpp).
//
// Every send and recv passes MSG_DONTWAIT rather than trusting O_NONBLOCK:
// a socket lent to a helper shares its open file description with netproc,
// the flag included, and a helper that cleared it on its own connection
// must not make netproc's whole loop block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "ipc/messages.hpp"
#include "netproc/buffer_pool.hpp"
#include "netproc/close_reason.hpp"
#include "netproc/key_rotation.hpp"
#include "netproc/metrics_registry.hpp"
#include "netproc/record_layer.hpp"
#include "netproc/record_sizer.hpp"
#include "netproc/service.hpp"
#include "netproc/throttle.hpp"

namespace tlsward::netproc {

// Rate limits on the TLS socket (the wire) as the pump sees them; the
// connection's throttle state implements it. None: unlimited.
class WireGate {
public:
    // Bytes that may move now (<= want); 0: wait to be woken.
    virtual size_t allowance(Direction d, size_t want) = 0;
    virtual void consumed(Direction d, size_t n) = 0;
    // Waiting for tokens in that direction (the pump does not ask for it).
    virtual bool waiting(Direction d) const = 0;

protected:
    ~WireGate() = default;
};

class RecordPump {
public:
    struct Context {
        BufferPool* buffers = nullptr;
        const ipc::LinkSettings* link = nullptr;      // record sizing, key rotation
        ServiceCounters* counters = nullptr;          // bytes and KeyUpdates, as they move
        RecordSizeHistogram* record_sizes = nullptr;  // may be unset
        WireGate* gate = nullptr;                     // may be unset: no limits
        bool client_mode = false;  // the TLS peer is the target (names in reasons)
    };

    // tls_fd is borrowed (the connection closes it). The keys are new as of now_ms.
    RecordPump(const Context& ctx, int tls_fd, std::unique_ptr<RecordLayer> records,
               uint64_t now_ms);
    RecordPump(const RecordPump&) = delete;
    RecordPump& operator=(const RecordPump&) = delete;

    // Before start(): bytes the helper read past the handshake (the first
    // records), and bytes for the plain side ahead of all data (a PROXY
    // header). false: they do not fit a buffer.
    bool add_tls_input(std::span<const uint8_t> bytes) { return tls_in_.append(bytes); }
    bool add_plain_output(std::span<const uint8_t> bytes) { return plain_out_.append(bytes); }
    // The plain side is connected (plain_fd borrowed): data moves from now.
    void start(int plain_fd, uint64_t now_ms);

    // A watched socket is ready (UV_READABLE / UV_WRITABLE / UV_DISCONNECT).
    void on_tls_ready(int events, uint64_t now_ms);
    void on_plain_ready(int events, uint64_t now_ms);
    // The wire's rate limit has tokens again: what waits goes out.
    void flush() { flush_tls(); }

    // Ends the connection on our side: seals close_notify (unless the record
    // layer can no longer write or one went out already) and fails with
    // `why`: what is sealed drains, nothing more is read or sealed, and the
    // pump ends once tls_out is empty (the connection lingers meanwhile).
    void close_notify_and_fail(CloseReason why);

    // What to watch for now (UV_READABLE / UV_WRITABLE on each socket).
    struct Interest {
        int tls = 0;
        int plain = 0;
    };
    Interest interest(uint64_t now_ms);

    // The connection must close now, with reason().
    bool ended() const { return ended_; }
    // An alert is sealed and draining; nothing else moves.
    bool failing() const { return failing_; }
    // Both directions are done (close_notify or EOF each way, passed on).
    bool finished() const;
    // Write sides shut so far (0..2): each one shortens the activity limit.
    int shut_count() const { return int{plain_write_shut_} + int{tls_write_shut_}; }
    // Why it is ending: the first direction's end, the failure, or the end.
    const std::optional<CloseReason>& reason() const { return reason_; }
    uint64_t last_activity_ms() const { return last_activity_ms_; }

    const RecordLayer& records() const { return *records_; }
    uint64_t bytes_from_tls() const { return bytes_from_tls_; }
    uint64_t bytes_to_tls() const { return bytes_to_tls_; }
    const KeyUsage& key_usage() const { return keys_; }

    // Nothing is buffered in either direction: the record layer frees its
    // AEAD contexts (most of an idle connection's memory).
    void release_idle_memory();

private:
    void read_tls(uint64_t now_ms);
    void pump_inbound(uint64_t now_ms);  // tls_in -> records -> plain_out -> plain side
    void read_plain(uint64_t now_ms);    // plain side -> records -> tls_out
    void flush_tls();
    void maybe_rotate_keys(uint64_t now_ms);
    // A fatal outcome: whatever alert is sealed drains, then the pump ends.
    void fail(CloseReason why);
    void end(CloseReason why);
    void seal_close_notify();
    // Plaintext of the next record towards the TLS peer.
    size_t next_record_size(uint64_t now_ms);
    const char* tls_side() const { return client_mode_ ? "target" : "client"; }
    const char* plain_side() const { return client_mode_ ? "client" : "target"; }

    int tls_fd_;
    int plain_fd_ = -1;
    std::unique_ptr<RecordLayer> records_;
    IoBuffer tls_in_;     // ciphertext from the TLS peer
    IoBuffer plain_out_;  // plaintext waiting for the plain side
    IoBuffer tls_out_;    // sealed records waiting for the TLS peer
    ServiceCounters* counters_;
    RecordSizeHistogram* record_sizes_;
    WireGate* gate_;
    const ipc::LinkSettings* link_;
    RecordSizer sizer_;
    KeyUsage keys_;
    uint64_t peer_updates_seen_ = 0;
    uint64_t bytes_from_tls_ = 0;
    uint64_t bytes_to_tls_ = 0;
    uint64_t last_activity_ms_;
    std::optional<CloseReason> reason_;

    bool client_mode_;
    bool started_ = false;
    // Half-close bookkeeping, one flag per direction and step.
    bool tls_read_done_ = false;  // close_notify or EOF from the TLS peer
    bool plain_write_shut_ = false;
    bool plain_read_done_ = false;  // EOF from the plain side
    bool close_notify_sent_ = false;
    bool tls_write_shut_ = false;
    bool failing_ = false;  // an alert sealed, flushing before the end
    bool ended_ = false;
};

}  // namespace tlsward::netproc
