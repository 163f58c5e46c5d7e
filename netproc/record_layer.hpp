// netproc's own TLS record layer (TLS 1.3 per RFC 8446 section 5; TLS 1.2
// AEAD records per RFC 5246, 5288 and 7905), run after a helper has done
// the handshake and handed over the traffic secrets (ipc/handoff.hpp).
//
// It is pure: no sockets, no clock. The connection (connection.cpp) moves
// bytes between sockets and IoBuffers; the record layer turns ciphertext
// from the peer into plaintext for the other side, and plaintext into
// sealed records, in place where it can. Post-handshake messages
// (KeyUpdate, NewSessionTicket, renegotiation attempts) and alerts are
// handled here; what the connection must do about them is in the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/result.hpp"
#include "common/tls_suites.hpp"
#include "ipc/handoff.hpp"
#include "netproc/alerts.hpp"
#include "netproc/buffer_pool.hpp"

namespace tlsward::netproc {

constexpr size_t kRecordHeaderLen = 5;
constexpr size_t kMaxPlaintext = 16384;  // 2^14
// Largest record a peer may send: TLS 1.3 allows 2^14 + 256 of ciphertext;
// TLS 1.2 allows 2^14 + 2048 but an AEAD record never needs more than
// 2^14 + 8 + 16, and the same 2^14 + 256 bound is applied to both.
constexpr size_t kMaxCiphertext = kMaxPlaintext + 256;
constexpr size_t kMaxRecord = kRecordHeaderLen + kMaxCiphertext;
// Consecutive records that carry no application data (empty records,
// KeyUpdates, ignored tickets and warning alerts) a peer may send; the next
// one cuts it off with unexpected_message. BoringSSL's bounds: 32
// KeyUpdates in a row (kMaxKeyUpdates) and 32 empty records in a row
// (kMaxEmptyRecords), the 33rd refused; here one count covers them all.
constexpr int kMaxNonDataRecords = 32;

struct RecordStats {
    uint64_t records_in = 0;
    uint64_t records_out = 0;
    uint64_t key_updates_in = 0;
    uint64_t key_updates_out = 0;
};

class RecordLayer {
public:
    // Builds the layer from a helper's hand-off. we_are_server selects which
    // secret reads and which writes. Validates everything (suite, lengths);
    // the caller wipes `handoff` afterwards.
    static Result<std::unique_ptr<RecordLayer>> create(const ipc::HandshakeDone& handoff,
                                                       bool we_are_server);
    // Fetches the AEAD ciphers and the TLS13-KDF once for the process (added:
    // netproc calls it at start-up so a missing algorithm shows there; the
    // first create() would fetch them anyway).
    static Status prefetch_algorithms();
    ~RecordLayer();
    RecordLayer(const RecordLayer&) = delete;
    RecordLayer& operator=(const RecordLayer&) = delete;

    // ---- reading from the peer ----

    enum class ReadOutcome {
        more,          // all complete records processed (or plain_out is full); go on
        close_notify,  // the peer sent close_notify: no more data will come from it
        fatal,         // the connection must end; see alert / from_peer / detail
    };
    struct ReadResult {
        ReadOutcome outcome = ReadOutcome::more;
        Alert alert = Alert::close_notify;  // fatal: the alert sent, or received if from_peer
        bool from_peer = false;
        std::string detail;    // what was wrong, for the log
        size_t app_bytes = 0;  // plaintext appended to plain_out by this call
    };

    // Opens the complete records at the front of `in` and consumes them.
    // Application data is appended to `plain_out`; processing stops (with
    // records left in `in`) while plain_out has less than max_plaintext()
    // bytes of free space, which is how backpressure reaches the peer.
    // Replies the protocol demands (a KeyUpdate answering update_requested,
    // the alert of a fatal error) are sealed into `cipher_out` at once,
    // whatever it already holds (it always has room: the caller keeps
    // reserve_for_control() bytes free for them). After a fatal outcome,
    // close_notify or an error, every further call returns fatal.
    ReadResult read_records(IoBuffer& in, IoBuffer& plain_out, IoBuffer& cipher_out);

    // ---- writing to the peer ----

    // Bytes before the plaintext in a record (header, TLS 1.2 explicit nonce).
    size_t prefix_len() const;
    // Bytes a record adds to its plaintext in all.
    size_t overhead() const;
    // The most plaintext one record may carry (16384 unless the peer asked
    // for less with max_fragment_length).
    size_t max_plaintext() const { return max_plaintext_; }
    // Room a caller keeps free in cipher_out for KeyUpdate and alert records.
    static constexpr size_t reserve_for_control() { return 128; }

    // Seals `n` bytes of plaintext that the caller placed at
    // cipher_out.writable().data() + prefix_len() into one application data
    // record, and commits it. n <= max_plaintext(); the space must hold
    // n + overhead() bytes.
    Status seal_in_place(IoBuffer& cipher_out, size_t n);
    // Copies and seals application data (as many records as needed).
    Status seal(std::span<const uint8_t> plaintext, IoBuffer& cipher_out);

    // Seals an alert: close_notify as warning, anything else as fatal.
    // After a fatal alert nothing more can be sealed.
    Status seal_alert(Alert a, IoBuffer& cipher_out);

    // TLS 1.3: sends KeyUpdate and switches to the next write key.
    // request_peer: update_requested (the peer will rotate its key too).
    Status send_key_update(bool request_peer, IoBuffer& cipher_out);

    // ---- state ----
    uint16_t version() const;
    const SuiteInfo& suite() const;
    bool can_write() const;    // false after a fatal alert or close_notify sent
    bool peer_closed() const;  // close_notify received
    uint64_t read_seq() const;
    uint64_t write_seq() const;
    // Records sealed under the current write key, for rotation policy.
    uint64_t records_under_write_key() const;
    // The write key is close to its AEAD usage limit (RFC 8446 section 5.5):
    // TLS 1.3 must send a KeyUpdate now; TLS 1.2 must close.
    bool write_key_exhausted() const;
    const RecordStats& stats() const;

    // The connection has nothing buffered: free the AEAD contexts (most of
    // an idle connection's memory). The next record sets them up again.
    void release_idle_memory();

    // Tests of the never-wrap rule only: moves both sequence numbers where
    // no hand-off can start them (ipc::kMaxHandoffSeq keeps real ones at
    // most 2^32, and 2^64 records are out of reach).
    void set_sequence_numbers_for_test(uint64_t read_seq, uint64_t write_seq);

private:
    struct State;
    explicit RecordLayer(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
    size_t max_plaintext_ = kMaxPlaintext;
};

}  // namespace tlsward::netproc
