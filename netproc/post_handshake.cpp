#include "netproc/post_handshake.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "common/result.hpp"
#include "common/tls_suites.hpp"

namespace tlsward::netproc {

namespace {

bool refuse(PostHandshakeError& e, Alert a, std::string detail) {
    e.alert = a;
    e.detail = std::move(detail);
    return false;
}

// NewSessionTicket (RFC 8446 4.6.1): read to its end so that a malformed one
// is refused even though its content is not used.
bool well_formed_ticket(std::span<const uint8_t> body) {
    ByteReader r(body);
    uint32_t lifetime = 0;
    uint32_t age_add = 0;
    ByteReader nonce;
    ByteReader ticket;
    ByteReader extensions;
    return r.u32(lifetime) && r.u32(age_add) && r.u8_prefixed(nonce) && r.u16_prefixed(ticket) &&
           !ticket.empty() && r.u16_prefixed(extensions) && r.done();
}

}  // namespace

bool PostHandshakeRules::screen(uint8_t type, uint32_t length, PostHandshakeError& e) const {
    auto t = static_cast<HandshakeType>(type);
    if (version == kTls13) {
        switch (t) {
            case HandshakeType::key_update:
                if (length != 1)
                    return refuse(e, Alert::decode_error,
                                  strfmt("KeyUpdate body of %u bytes", length));
                return true;
            case HandshakeType::new_session_ticket:
                if (we_are_server)
                    return refuse(e, Alert::unexpected_message,
                                  "NewSessionTicket sent to the server");
                break;
            case HandshakeType::certificate_request:
                return refuse(e, Alert::unexpected_message,
                              "post-handshake CertificateRequest (not offered)");
            default:
                return refuse(e, Alert::unexpected_message,
                              strfmt("handshake message type %u after the handshake", type));
        }
    } else {
        bool renegotiation = (we_are_server && t == HandshakeType::client_hello) ||
                             (!we_are_server && t == HandshakeType::hello_request);
        if (!renegotiation)
            return refuse(e, Alert::unexpected_message,
                          strfmt("handshake message type %u after the handshake", type));
    }
    if (length > kMaxPostHandshakeMessage)
        return refuse(e, Alert::illegal_parameter,
                      strfmt("post-handshake message of %u bytes (limit %zu)", length,
                             kMaxPostHandshakeMessage));
    return true;
}

bool PostHandshakeRules::classify(uint8_t type, std::span<const uint8_t> body, Verdict& v,
                                  PostHandshakeError& e) const {
    auto t = static_cast<HandshakeType>(type);
    if (version == kTls13) {
        if (t == HandshakeType::key_update) {
            if (!parse_key_update(body, v.request, e.alert, e.detail)) return false;
            v.action = Action::key_update;
            return true;
        }
        if (t == HandshakeType::new_session_ticket && !we_are_server) {
            if (!well_formed_ticket(body))
                return refuse(e, Alert::decode_error, "malformed NewSessionTicket");
            v.action = Action::ignore;
            return true;
        }
    } else {
        if (t == HandshakeType::hello_request && !we_are_server) {
            if (!body.empty()) return refuse(e, Alert::decode_error, "HelloRequest with a body");
            v.action = Action::refuse_renegotiation;
            return true;
        }
        if (t == HandshakeType::client_hello && we_are_server) {
            v.action = Action::refuse_renegotiation;
            return true;
        }
    }
    // screen() lets nothing else through.
    return refuse(e, Alert::unexpected_message,
                  strfmt("handshake message type %u after the handshake", type));
}

void HandshakeReassembler::start_record(std::span<const uint8_t> fragment) {
    if (delivered_) drop_buffer();
    rec_ = ByteReader(fragment);
}

bool HandshakeReassembler::header_of(std::span<const uint8_t> bytes, uint8_t& type,
                                     uint32_t& length) const {
    ByteReader h(bytes);
    return h.u8(type) && h.u24(length);
}

void HandshakeReassembler::drop_buffer() {
    if (!buf_.empty()) OPENSSL_cleanse(buf_.data(), buf_.size());
    std::vector<uint8_t>().swap(buf_);
    delivered_ = false;
}

HandshakeReassembler::Step HandshakeReassembler::next(const PostHandshakeRules& rules,
                                                      uint8_t& type, std::span<const uint8_t>& body,
                                                      PostHandshakeError& e) {
    if (delivered_) drop_buffer();
    auto take_into_buffer = [&](size_t n) {
        std::span<const uint8_t> part;
        if (rec_.bytes(n, part)) buf_.insert(buf_.end(), part.begin(), part.end());
    };
    uint8_t t = 0;
    uint32_t length = 0;

    if (!buf_.empty()) {
        // Continue the message that began in an earlier record.
        if (buf_.size() < kHandshakeHeaderLen) {
            take_into_buffer(std::min(kHandshakeHeaderLen - buf_.size(), rec_.remaining()));
            if (buf_.size() < kHandshakeHeaderLen) return Step::record_done;
            header_of(buf_, t, length);
            if (!rules.screen(t, length, e)) return Step::error;
            buf_.reserve(kHandshakeHeaderLen + length);
        }
        header_of(buf_, t, length);
        size_t total = kHandshakeHeaderLen + length;
        take_into_buffer(std::min(total - buf_.size(), rec_.remaining()));
        if (buf_.size() < total) return Step::record_done;
        type = t;
        body = std::span<const uint8_t>(buf_).subspan(kHandshakeHeaderLen);
        delivered_ = true;
        return Step::message;
    }

    if (rec_.empty()) return Step::record_done;
    if (!header_of(rec_.rest(), t, length)) {
        // Not even the header is complete: keep the 1..3 bytes.
        take_into_buffer(rec_.remaining());
        return Step::record_done;
    }
    if (!rules.screen(t, length, e)) return Step::error;
    if (rec_.remaining() - kHandshakeHeaderLen >= length) {
        rec_.skip(kHandshakeHeaderLen);
        rec_.bytes(length, body);
        type = t;
        return Step::message;
    }
    buf_.reserve(kHandshakeHeaderLen + length);
    take_into_buffer(rec_.remaining());
    return Step::record_done;
}

}  // namespace tlsward::netproc
