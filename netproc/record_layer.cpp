// The record layer: RFC 8446 section 5 (TLS 1.3) and RFC 5246 6.2 with the
// AEAD constructions of RFC 5288 and RFC 7905 (TLS 1.2).
//
// Choices the RFCs leave open, made here:
// - TLS 1.3 legacy_record_version is not checked (RFC 8446 5.1: "MUST be
//   ignored"); it is authenticated as part of the AAD anyway. TLS 1.2
//   records must say 0x0303 (else protocol_version).
// - A ciphertext too short for the tag (and TLS 1.2 explicit nonce) is
//   bad_record_mac, like a failed tag check.
// - TLS 1.2 warning alerts other than close_notify, user_canceled and
//   no_renegotiation end the connection, as every alert does in TLS 1.3
//   (RFC 8446 6.2). A fatal-level user_canceled is fatal.
// - Data after the peer's close_notify is left unread (RFC 8446 6.1: it
//   MUST be ignored); the next call returns fatal.
// - The AES-GCM usage limit is enforced on what we send (write_key_exhausted()
//   at 2^24 records, nothing sealed past 2^24.5), not on what we receive: the
//   limit protects the sender's confidentiality (RFC 8446 5.5), a receiver
//   gains nothing by refusing, and OpenSSL and BoringSSL do not refuse.
// - read_records also stops (outcome more) while cipher_out has less than 64
//   bytes free, so that a KeyUpdate answer or an alert always fits, even if
//   the caller did not keep reserve_for_control() free.
// - Renegotiation attempts (TLS 1.2) count as records without data, so a
//   flood of them hits the kMaxNonDataRecords cap like empty records do.
// - Post-handshake messages longer than 64 KiB are illegal_parameter (as in
//   OpenSSL, SSL_R_EXCESSIVE_MESSAGE_SIZE); empty handshake and alert records
//   are unexpected_message (RFC 8446 5.1 forbids them; OpenSSL's answer).
// - Every update_requested KeyUpdate is answered with one of ours, at once
//   (OpenSSL's behaviour; RFC 8446 4.6.3 would allow one answer for several
//   requests received while we were silent).
#include "netproc/record_layer.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "common/bytes.hpp"
#include "netproc/key_update.hpp"
#include "netproc/post_handshake.hpp"
#include "netproc/traffic_keys.hpp"

namespace tlsward::netproc {

namespace {

constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kContentAlert = 21;
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kContentApplicationData = 23;
constexpr uint16_t kRecordVersion = 0x0303;
constexpr uint8_t kAlertWarning = 1;
constexpr uint8_t kAlertFatal = 2;

// AEAD usage limits (RFC 8446 5.5), in records under one key.
constexpr uint64_t kAesGcmSoftLimit = 1ULL << 24;  // write_key_exhausted()
constexpr uint64_t kAesGcmHardLimit = 23726566;    // 2^24.5: nothing is sealed past it
constexpr uint64_t kChaChaSoftLimit = 1ULL << 62;
constexpr uint64_t kNoSeq = std::numeric_limits<uint64_t>::max();  // never used
// Records kept back at a hard limit for a KeyUpdate or an alert.
constexpr uint64_t kControlRecords = 4;
// read_records stops while cipher_out has less room than this: enough for
// a reply (KeyUpdate or warning alert) and a fatal alert.
constexpr size_t kControlRoom = 64;
static_assert(kControlRoom <= RecordLayer::reserve_for_control());

// TLS 1.2 AEAD additional data (RFC 5246 6.2.3.3): seq_num, type, version,
// the plaintext's length; the same for sealing and opening.
using Tls12Aad = std::array<uint8_t, 13>;
Tls12Aad tls12_aad(uint64_t seq, uint8_t type, size_t plaintext_len) {
    Tls12Aad aad{};
    store_be64(std::span(aad).first<8>(), seq);
    aad[8] = type;
    store_be16(std::span(aad).subspan<9, 2>(), kRecordVersion);
    store_be16(std::span(aad).subspan<11, 2>(), static_cast<uint16_t>(plaintext_len));
    return aad;
}

}  // namespace

struct RecordLayer::State {
    const SuiteInfo* suite = nullptr;
    bool tls13 = false;
    bool gcm12 = false;  // TLS 1.2 AES-GCM: records carry an explicit nonce
    size_t max_plaintext = kMaxPlaintext;
    PostHandshakeRules rules;
    DirectionKeys read;
    DirectionKeys write;
    HandshakeReassembler handshake;
    RecordStats stats;
    int non_data_run = 0;
    bool read_ended = false;    // fatal or close_notify: read_records returns `ended`
    bool write_closed = false;  // close_notify or a fatal alert sent, or writing failed
    bool peer_closed = false;
    ReadResult ended;

    enum class Next { carry_on, stop_after_record, stop_now };

    size_t prefix_len() const { return kRecordHeaderLen + (gcm12 ? kTls12ExplicitNonceLen : 0); }
    size_t overhead() const { return prefix_len() + kAeadTagLen + (tls13 ? 1 : 0); }
    uint64_t soft_limit() const {
        return suite->aead == Aead::chacha20_poly1305 ? kChaChaSoftLimit : kAesGcmSoftLimit;
    }

    // ---- ending ----

    void end_reading(Alert a, bool from_peer, std::string detail) {
        read_ended = true;
        ended = ReadResult{};
        ended.outcome = ReadOutcome::fatal;
        ended.alert = a;
        ended.from_peer = from_peer;
        ended.detail = std::move(detail);
    }

    // An error we detected: seal its alert if we still can, end both ways.
    Next fail(ReadResult& r, Alert a, std::string detail, IoBuffer& cipher_out) {
        if (!write_closed) {
            std::array<uint8_t, 2> alert{kAlertFatal, static_cast<uint8_t>(a)};
            (void)seal_control(cipher_out, kContentAlert, alert);
            write_closed = true;
        }
        r.outcome = ReadOutcome::fatal;
        r.alert = a;
        r.from_peer = false;
        r.detail = detail;
        end_reading(a, false, std::move(detail));
        return Next::stop_now;
    }

    // Writing cannot go on (sequence numbers or AEAD broken): end it all.
    Status write_failure(std::string detail) {
        write_closed = true;
        if (!read_ended) end_reading(Alert::internal_error, false, detail);
        return Error{ErrorKind::protocol, std::move(detail)};
    }

    // ---- writing ----

    Status can_seal(uint64_t records, bool app_data) {
        if (write_closed) return err(ErrorKind::internal, "record layer: closed for writing");
        if (write.seq > kNoSeq - records)
            return write_failure("record layer: write sequence number exhausted");
        if (suite->aead == Aead::chacha20_poly1305) return {};  // no limit short of 2^64
        // AES-GCM: app data stops a few records short of the hard limit so
        // that a KeyUpdate or an alert can still go out.
        uint64_t limit = kAesGcmHardLimit - (app_data ? kControlRecords : 0);
        if (write.records_under_key + records > limit)
            return err(ErrorKind::internal,
                       "record layer: write key at its AEAD usage limit (%llu records)%s",
                       static_cast<unsigned long long>(write.records_under_key),
                       tls13 ? ": send a KeyUpdate" : ": close the connection");
        return {};
    }

    // Seals the n bytes of plaintext at w[prefix_len(), +n) into one record
    // of `type` and commits it. w comes from out.writable(n + overhead()).
    Status seal_prepared(IoBuffer& out, std::span<uint8_t> w, uint8_t type, size_t n,
                         bool app_data) {
        if (Status s = can_seal(1, app_data); !s) return s;
        size_t pre = prefix_len();
        size_t inner = n + (tls13 ? 1 : 0);
        size_t body_len = (gcm12 ? kTls12ExplicitNonceLen : 0) + inner + kAeadTagLen;
        if (w.size() < kRecordHeaderLen + body_len)
            return err(ErrorKind::internal, "record layer: no room to seal");
        auto rec = w.first(kRecordHeaderLen + body_len);
        rec[0] = tls13 ? kContentApplicationData : type;
        store_be16(rec.subspan<1, 2>(), kRecordVersion);
        store_be16(rec.subspan<3, 2>(), static_cast<uint16_t>(body_len));
        if (tls13) rec[pre + n] = type;
        auto payload = rec.subspan(pre, inner);
        auto tag = rec.subspan(pre + inner).first<kAeadTagLen>();
        Nonce nonce = write.record_nonce(write.seq);
        Tls12Aad aad12{};
        std::span<const uint8_t> aad;
        if (tls13) {
            aad = rec.first(kRecordHeaderLen);
        } else {
            aad12 = tls12_aad(write.seq, type, n);
            aad = aad12;
            // Our explicit nonce is the sequence number: unique per key.
            if (gcm12) store_be64(rec.subspan<kRecordHeaderLen, 8>(), write.seq);
        }
        if (Status s = write.aead().seal(nonce, aad, payload, payload, tag); !s)
            return write_failure("record layer: " + s.message());
        out.commit(rec.size());
        ++write.seq;
        ++write.records_under_key;
        ++stats.records_out;
        return {};
    }

    // A small record of our own making (alert, KeyUpdate).
    Status seal_control(IoBuffer& out, uint8_t type, std::span<const uint8_t> content) {
        if (write_closed) return err(ErrorKind::internal, "record layer: closed for writing");
        auto w = out.writable(content.size() + overhead());
        if (w.size() < content.size() + overhead())
            return err(ErrorKind::internal, "record layer: no room for a %zu-byte control record",
                       content.size());
        std::copy(content.begin(), content.end(), w.subspan(prefix_len()).begin());
        return seal_prepared(out, w, type, content.size(), false);
    }

    Status send_key_update(bool request_peer, IoBuffer& out) {
        if (!tls13) return err(ErrorKind::internal, "record layer: KeyUpdate is TLS 1.3 only");
        auto msg = key_update_message(request_peer ? KeyUpdateRequest::update_requested
                                                   : KeyUpdateRequest::update_not_requested);
        if (Status s = seal_control(out, kContentHandshake, msg); !s) return s;
        // The peer switches keys after this record: so must we, or die.
        if (Status s = apply_key_update(write); !s) return write_failure(s.message());
        ++stats.key_updates_out;
        return {};
    }

    // ---- reading ----

    ReadResult read_all(IoBuffer& in, IoBuffer& plain_out, IoBuffer& cipher_out) {
        ReadResult r;
        if (read_ended) return ended;
        while (cipher_out.free_space() >= kControlRoom) {
            std::span<uint8_t> avail = in.readable();
            ByteReader hdr(avail);
            uint8_t type = 0;
            uint16_t version = 0;
            uint16_t length = 0;
            if (!hdr.u8(type) || !hdr.u16(version) || !hdr.u16(length)) break;
            if (check_header(type, version, length, r, cipher_out) == Next::stop_now) return r;
            if (hdr.remaining() < length) break;  // the rest has not arrived
            if (plain_out.free_space() < std::min(plaintext_bound(length), max_plaintext)) break;
            auto record = avail.first(kRecordHeaderLen + length);
            uint8_t content_type = 0;
            std::span<const uint8_t> content;
            if (open_record(record, content_type, content, r, cipher_out) == Next::stop_now)
                return r;
            Next next = dispatch(content_type, content, plain_out, cipher_out, r);
            if (next == Next::stop_now) return r;
            in.consume(record.size());
            if (next == Next::stop_after_record) return r;
        }
        return r;
    }

    Next check_header(uint8_t type, uint16_t version, uint16_t length, ReadResult& r,
                      IoBuffer& cipher_out) {
        if (type == kContentChangeCipherSpec)
            return fail(r, Alert::unexpected_message,
                        "change_cipher_spec record after the handshake", cipher_out);
        if (tls13) {
            if (type == kContentAlert)
                return fail(r, Alert::unexpected_message,
                            "plaintext alert record after the hand-off", cipher_out);
            if (type == kContentHandshake)
                return fail(r, Alert::unexpected_message,
                            "plaintext handshake record after the hand-off", cipher_out);
            if (type != kContentApplicationData)
                return fail(r, Alert::unexpected_message, strfmt("record type %u", type),
                            cipher_out);
        } else {
            if (type < kContentAlert || type > kContentApplicationData)
                return fail(r, Alert::unexpected_message, strfmt("record type %u", type),
                            cipher_out);
            if (version != kRecordVersion)
                return fail(r, Alert::protocol_version, strfmt("record version 0x%04x", version),
                            cipher_out);
        }
        if (length > kMaxCiphertext)
            return fail(r, Alert::record_overflow,
                        strfmt("record of %u bytes (limit %zu)", length, kMaxCiphertext),
                        cipher_out);
        if (length < kAeadTagLen + (gcm12 ? kTls12ExplicitNonceLen : 0))
            return fail(r, Alert::bad_record_mac,
                        strfmt("record of %u bytes cannot hold its tag", length), cipher_out);
        return Next::carry_on;
    }

    // The most plaintext a record of this length can yield.
    size_t plaintext_bound(uint16_t length) const {
        size_t fixed = kAeadTagLen + (gcm12 ? kTls12ExplicitNonceLen : 0) + (tls13 ? 1 : 0);
        return length > fixed ? length - fixed : 0;
    }

    // Authenticates and decrypts a whole record in place.
    Next open_record(std::span<uint8_t> record, uint8_t& content_type,
                     std::span<const uint8_t>& content, ReadResult& r, IoBuffer& cipher_out) {
        if (read.seq == kNoSeq)
            return fail(r, Alert::internal_error, "read sequence number exhausted", cipher_out);
        auto header = record.first(kRecordHeaderLen);
        auto body = record.subspan(kRecordHeaderLen);
        auto tag = body.last<kAeadTagLen>();
        std::span<uint8_t> payload;
        Nonce nonce;
        if (gcm12) {
            nonce = read.record_nonce(body.first<kTls12ExplicitNonceLen>());
            payload = body.subspan(kTls12ExplicitNonceLen,
                                   body.size() - kTls12ExplicitNonceLen - kAeadTagLen);
        } else {
            nonce = read.record_nonce(read.seq);
            payload = body.first(body.size() - kAeadTagLen);
        }
        Tls12Aad aad12{};
        std::span<const uint8_t> aad = header;
        if (!tls13) {
            aad12 = tls12_aad(read.seq, header[0], payload.size());
            aad = aad12;
        }
        if (!read.aead().open(nonce, aad, payload, payload, tag))
            return fail(r, Alert::bad_record_mac, "record failed authentication", cipher_out);
        ++read.seq;
        ++read.records_under_key;
        ++stats.records_in;

        if (tls13) {
            // TLSInnerPlaintext: content, type, zero padding (RFC 8446 5.2, 5.4).
            if (payload.size() > kMaxPlaintext + 1)
                return fail(r, Alert::record_overflow,
                            strfmt("inner plaintext of %zu bytes", payload.size()), cipher_out);
            size_t end = payload.size();
            while (end > 0 && payload[end - 1] == 0) --end;
            if (end == 0)
                return fail(r, Alert::unexpected_message,
                            "inner plaintext has no content type (all zeros)", cipher_out);
            content_type = payload[end - 1];
            content = payload.first(end - 1);
        } else {
            content_type = header[0];
            content = payload;
        }
        if (content.size() > max_plaintext)
            return fail(r, Alert::record_overflow,
                        strfmt("plaintext of %zu bytes (limit %zu)", content.size(), max_plaintext),
                        cipher_out);
        return Next::carry_on;
    }

    Next dispatch(uint8_t content_type, std::span<const uint8_t> content, IoBuffer& plain_out,
                  IoBuffer& cipher_out, ReadResult& r) {
        if (handshake.partial() && content_type != kContentHandshake)
            return fail(
                r, Alert::unexpected_message,
                strfmt("record type %u inside a fragmented handshake message", content_type),
                cipher_out);
        switch (content_type) {
            case kContentApplicationData:
                if (content.empty()) return count_non_data(r, cipher_out);
                if (!plain_out.append(content))
                    return fail(r, Alert::internal_error, "no room for plaintext", cipher_out);
                non_data_run = 0;
                r.app_bytes += content.size();
                return Next::carry_on;
            case kContentAlert:
                return on_alert(content, r, cipher_out);
            case kContentHandshake:
                return on_handshake(content, r, cipher_out);
            default:
                return fail(r, Alert::unexpected_message,
                            strfmt("inner content type %u", content_type), cipher_out);
        }
    }

    // Empty records, KeyUpdates, ignored tickets and alerts, renegotiation
    // attempts: cheap for the peer to send, so a run of them is capped.
    Next count_non_data(ReadResult& r, IoBuffer& cipher_out) {
        if (++non_data_run > kMaxNonDataRecords)
            return fail(r, Alert::unexpected_message,
                        strfmt("more than %d records in a row without application data",
                               kMaxNonDataRecords),
                        cipher_out);
        return Next::carry_on;
    }

    Next on_alert(std::span<const uint8_t> content, ReadResult& r, IoBuffer& cipher_out) {
        ByteReader a(content);
        uint8_t level = 0;
        uint8_t desc = 0;
        // An empty alert record is no alert at all (RFC 8446 5.1: no
        // zero-length alert fragments): unexpected_message, as OpenSSL
        // answers; one of the wrong length is a malformed alert.
        if (content.empty())
            return fail(r, Alert::unexpected_message, "empty alert record", cipher_out);
        if (!a.u8(level) || !a.u8(desc) || !a.done())
            return fail(r, Alert::decode_error, strfmt("alert record of %zu bytes", content.size()),
                        cipher_out);
        if (desc == static_cast<uint8_t>(Alert::close_notify)) {
            peer_closed = true;
            r.outcome = ReadOutcome::close_notify;
            end_reading(Alert::close_notify, true, "read after the peer's close_notify");
            return Next::stop_after_record;
        }
        bool ignorable = level == kAlertWarning &&
                         (desc == static_cast<uint8_t>(Alert::user_canceled) ||
                          (!tls13 && desc == static_cast<uint8_t>(Alert::no_renegotiation)));
        if (ignorable) return count_non_data(r, cipher_out);
        // Every other alert ends the connection; nothing is sent back.
        write_closed = true;
        r.outcome = ReadOutcome::fatal;
        r.alert = static_cast<Alert>(desc);
        r.from_peer = true;
        r.detail = strfmt("peer sent %s alert %s (%u)",
                          level == kAlertWarning ? "warning" : "fatal", alert_name(desc), desc);
        end_reading(r.alert, true, r.detail);
        return Next::stop_now;
    }

    Next on_handshake(std::span<const uint8_t> content, ReadResult& r, IoBuffer& cipher_out) {
        if (content.empty())
            return fail(r, Alert::unexpected_message, "empty handshake record", cipher_out);
        if (count_non_data(r, cipher_out) == Next::stop_now) return Next::stop_now;
        handshake.start_record(content);
        for (;;) {
            uint8_t type = 0;
            std::span<const uint8_t> body;
            PostHandshakeError e;
            auto step = handshake.next(rules, type, body, e);
            if (step == HandshakeReassembler::Step::error)
                return fail(r, e.alert, std::move(e.detail), cipher_out);
            if (step == HandshakeReassembler::Step::record_done) return Next::carry_on;
            PostHandshakeRules::Verdict v;
            if (!rules.classify(type, body, v, e))
                return fail(r, e.alert, std::move(e.detail), cipher_out);
            switch (v.action) {
                case PostHandshakeRules::Action::ignore:
                    break;
                case PostHandshakeRules::Action::key_update:
                    if (on_key_update(v.request, r, cipher_out) == Next::stop_now)
                        return Next::stop_now;
                    break;
                case PostHandshakeRules::Action::refuse_renegotiation:
                    if (!write_closed) {
                        std::array<uint8_t, 2> alert{kAlertWarning,
                                                     static_cast<uint8_t>(Alert::no_renegotiation)};
                        if (Status s = seal_control(cipher_out, kContentAlert, alert); !s)
                            return fail(r, Alert::internal_error, s.message(), cipher_out);
                    }
                    break;
            }
        }
    }

    Next on_key_update(KeyUpdateRequest request, ReadResult& r, IoBuffer& cipher_out) {
        // RFC 8446 5.1: a key change must come at a record boundary.
        if (handshake.record_has_more())
            return fail(r, Alert::unexpected_message, "KeyUpdate not at the end of its record",
                        cipher_out);
        if (Status s = apply_key_update(read); !s)
            return fail(r, Alert::internal_error, s.message(), cipher_out);
        ++stats.key_updates_in;
        // Each request gets its answer at once, as OpenSSL does. RFC 8446
        // 4.6.3 would let one answer serve requests that came while we were
        // silent, but clients and suites written against OpenSSL count the
        // answers (32 pipelined requests expect 32 KeyUpdates back). It
        // costs at most one record of ours per record of the peer's, and
        // the run cap ends a peer that asks more than 32 times without data.
        if (request == KeyUpdateRequest::update_requested && !write_closed) {
            if (Status s = send_key_update(false, cipher_out); !s)
                return fail(r, Alert::internal_error, s.message(), cipher_out);
        }
        return Next::carry_on;
    }
};

Status RecordLayer::prefetch_algorithms() {
    if (Status s = prefetch_aead_ciphers(); !s) return s;
    return prefetch_kdf();
}

Result<std::unique_ptr<RecordLayer>> RecordLayer::create(const ipc::HandshakeDone& h,
                                                         bool we_are_server) {
    const SuiteInfo* suite = find_suite(h.cipher_suite);
    if (!suite)
        return err(ErrorKind::protocol, "record layer: unknown cipher suite 0x%04x",
                   h.cipher_suite);
    if (suite->version != h.tls_version)
        return err(ErrorKind::protocol, "record layer: %s with version 0x%04x", suite->name,
                   h.tls_version);
    if (h.max_plaintext < ipc::kMinHandoffPlaintext || h.max_plaintext > ipc::kMaxHandoffPlaintext)
        return err(ErrorKind::protocol, "record layer: max_plaintext %u", h.max_plaintext);
    size_t secret_len = ipc::handoff_secret_length(h.cipher_suite);
    if (h.client_secret.size() != secret_len || h.server_secret.size() != secret_len)
        return err(ErrorKind::protocol, "record layer: secrets of %zu/%zu bytes for %s (want %zu)",
                   h.client_secret.size(), h.server_secret.size(), suite->name, secret_len);
    if (h.client_seq > ipc::kMaxHandoffSeq || h.server_seq > ipc::kMaxHandoffSeq)
        return err(ErrorKind::protocol, "record layer: sequence number out of range");

    auto s = std::make_unique<State>();
    s->suite = suite;
    s->tls13 = suite->version == kTls13;
    s->gcm12 = !s->tls13 && suite->aead != Aead::chacha20_poly1305;
    s->max_plaintext = h.max_plaintext;
    s->rules = PostHandshakeRules{suite->version, we_are_server};
    const SecretBytes& read_secret = we_are_server ? h.client_secret : h.server_secret;
    const SecretBytes& write_secret = we_are_server ? h.server_secret : h.client_secret;
    uint64_t read_seq = we_are_server ? h.client_seq : h.server_seq;
    uint64_t write_seq = we_are_server ? h.server_seq : h.client_seq;
    if (Status st = s->read.init(*suite, false, read_secret.view(), read_seq); !st)
        return context("record layer: read keys", st.error());
    if (Status st = s->write.init(*suite, true, write_secret.view(), write_seq); !st)
        return context("record layer: write keys", st.error());

    std::unique_ptr<RecordLayer> layer(new RecordLayer(std::move(s)));
    layer->max_plaintext_ = h.max_plaintext;
    return Result<std::unique_ptr<RecordLayer>>(std::move(layer));
}

RecordLayer::RecordLayer(std::unique_ptr<State> s) : s_(std::move(s)) {}
RecordLayer::~RecordLayer() = default;

RecordLayer::ReadResult RecordLayer::read_records(IoBuffer& in, IoBuffer& plain_out,
                                                  IoBuffer& cipher_out) {
    return s_->read_all(in, plain_out, cipher_out);
}

size_t RecordLayer::prefix_len() const {
    return s_->prefix_len();
}
size_t RecordLayer::overhead() const {
    return s_->overhead();
}

Status RecordLayer::seal_in_place(IoBuffer& cipher_out, size_t n) {
    if (n > max_plaintext_)
        return err(ErrorKind::internal, "record layer: %zu bytes exceed one record", n);
    auto w = cipher_out.writable(n + s_->overhead());
    if (w.size() < n + s_->overhead())
        return err(ErrorKind::internal, "record layer: no room to seal in place");
    return s_->seal_prepared(cipher_out, w, kContentApplicationData, n, true);
}

Status RecordLayer::seal(std::span<const uint8_t> plaintext, IoBuffer& cipher_out) {
    if (plaintext.empty()) return {};
    size_t records = (plaintext.size() + max_plaintext_ - 1) / max_plaintext_;
    if (Status st = s_->can_seal(records, true); !st) return st;
    if (cipher_out.free_space() < plaintext.size() + records * s_->overhead())
        return err(ErrorKind::internal, "record layer: no room for %zu records", records);
    size_t pre = s_->prefix_len();
    while (!plaintext.empty()) {
        size_t n = std::min(plaintext.size(), max_plaintext_);
        auto w = cipher_out.writable(n + s_->overhead());
        if (w.size() < n + s_->overhead())
            return err(ErrorKind::internal, "record layer: no room to seal");
        std::copy(plaintext.begin(), plaintext.begin() + static_cast<std::ptrdiff_t>(n),
                  w.subspan(pre).begin());
        if (Status st = s_->seal_prepared(cipher_out, w, kContentApplicationData, n, true); !st)
            return st;
        plaintext = plaintext.subspan(n);
    }
    return {};
}

Status RecordLayer::seal_alert(Alert a, IoBuffer& cipher_out) {
    bool closure = a == Alert::close_notify;
    std::array<uint8_t, 2> alert{closure ? kAlertWarning : kAlertFatal, static_cast<uint8_t>(a)};
    if (Status st = s_->seal_control(cipher_out, kContentAlert, alert); !st) return st;
    s_->write_closed = true;
    if (!closure && !s_->read_ended)
        s_->end_reading(a, false, strfmt("we sent alert %s", alert_name(a)));
    return {};
}

Status RecordLayer::send_key_update(bool request_peer, IoBuffer& cipher_out) {
    return s_->send_key_update(request_peer, cipher_out);
}

uint16_t RecordLayer::version() const {
    return s_->suite->version;
}
const SuiteInfo& RecordLayer::suite() const {
    return *s_->suite;
}
bool RecordLayer::can_write() const {
    return !s_->write_closed;
}
bool RecordLayer::peer_closed() const {
    return s_->peer_closed;
}
uint64_t RecordLayer::read_seq() const {
    return s_->read.seq;
}
uint64_t RecordLayer::write_seq() const {
    return s_->write.seq;
}
uint64_t RecordLayer::records_under_write_key() const {
    return s_->write.records_under_key;
}
bool RecordLayer::write_key_exhausted() const {
    return s_->write.records_under_key >= s_->soft_limit() ||
           s_->write.seq >= kNoSeq - kControlRecords;
}
const RecordStats& RecordLayer::stats() const {
    return s_->stats;
}

void RecordLayer::set_sequence_numbers_for_test(uint64_t read_seq, uint64_t write_seq) {
    s_->read.seq = read_seq;
    s_->write.seq = write_seq;
}

void RecordLayer::release_idle_memory() {
    s_->read.aead().release_context();
    s_->write.aead().release_context();
}

}  // namespace tlsward::netproc
