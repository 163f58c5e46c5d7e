// Handshake messages that arrive after the hand-off: their reassembly across
// records (RFC 8446 5.1, RFC 5246 6.2.1) and what each one means for netproc.
//
// TLS 1.3: KeyUpdate (rotate keys), NewSessionTicket (ignored when we are
// the client: the helper that could use it is gone), anything else,
// CertificateRequest included, is unexpected_message (we never offer
// post-handshake authentication). TLS 1.2: a ClientHello to a server or a
// HelloRequest to a client is a renegotiation attempt, refused with a
// warning no_renegotiation; anything else is unexpected_message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "netproc/alerts.hpp"
#include "netproc/key_update.hpp"

namespace tlsward::netproc {

// Largest post-handshake message body we reassemble (a NewSessionTicket is
// a few hundred bytes; a TLS 1.2 ClientHello a few KiB).
constexpr size_t kMaxPostHandshakeMessage = 64 * 1024;
constexpr size_t kHandshakeHeaderLen = 4;

enum class HandshakeType : uint8_t {
    hello_request = 0,
    client_hello = 1,
    new_session_ticket = 4,
    certificate_request = 13,
    key_update = kHandshakeKeyUpdate,
};

struct PostHandshakeError {
    Alert alert = Alert::unexpected_message;
    std::string detail;
};

// Where a connection stands: the version and our role decide what is allowed.
struct PostHandshakeRules {
    uint16_t version = 0;
    bool we_are_server = false;

    // From a message header alone (before its body is buffered): refuses
    // messages that are never acceptable and bodies too long to hold.
    bool screen(uint8_t type, uint32_t length, PostHandshakeError& e) const;

    enum class Action { ignore, key_update, refuse_renegotiation };
    struct Verdict {
        Action action = Action::ignore;
        KeyUpdateRequest request = KeyUpdateRequest::update_not_requested;
    };
    // A complete message, already screened.
    bool classify(uint8_t type, std::span<const uint8_t> body, Verdict& v,
                  PostHandshakeError& e) const;
};

// Splits the handshake records of one connection into messages. A message
// that ends in its record is handed out in place; only a message that spans
// records is copied into a buffer, which exists only while it is partial.
class HandshakeReassembler {
public:
    HandshakeReassembler() = default;
    ~HandshakeReassembler() { drop_buffer(); }
    HandshakeReassembler(const HandshakeReassembler&) = delete;
    HandshakeReassembler& operator=(const HandshakeReassembler&) = delete;

    // The content of the next handshake record. The span must stay valid
    // until next() has returned record_done or error.
    void start_record(std::span<const uint8_t> fragment);

    enum class Step { message, record_done, error };
    // message: `type` and `body` are set (body is valid until the next call);
    // record_done: the record is used up (a partial message may be held).
    Step next(const PostHandshakeRules& rules, uint8_t& type, std::span<const uint8_t>& body,
              PostHandshakeError& e);

    // Part of a message is held: only a handshake record may come next.
    bool partial() const { return !buf_.empty() && !delivered_; }
    // Bytes of the current record not handed out yet.
    bool record_has_more() const { return !rec_.empty(); }
    // Whether a buffer is allocated at all (memory accounting, tests).
    bool holds_buffer() const { return buf_.capacity() != 0; }

private:
    bool header_of(std::span<const uint8_t> bytes, uint8_t& type, uint32_t& length) const;
    void drop_buffer();

    ByteReader rec_;
    std::vector<uint8_t> buf_;  // header + body of a message spanning records
    bool delivered_ = false;    // buf_ was handed out; drop it on the next call
};

}  // namespace tlsward::netproc
