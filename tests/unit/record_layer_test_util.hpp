// Helpers shared by the record layer tests (test_record_layer_*.cpp,
// test_aead.cpp, test_traffic_keys.cpp): hex, hand-offs, buffers, and a
// "peer" that seals arbitrary records, malformed ones included.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/hex.hpp"
#include "common/tls_suites.hpp"
#include "ipc/handoff.hpp"
#include "netproc/buffer_pool.hpp"
#include "netproc/key_update.hpp"
#include "netproc/record_layer.hpp"
#include "netproc/traffic_keys.hpp"

namespace tlsward::rltest {

using Bytes = std::vector<uint8_t>;

// Hex with any whitespace in between ("17 03 03", multi-line literals).
inline Bytes unhex(std::string_view s) {
    Bytes out;
    int hi = -1;
    for (char c : s) {
        int v = hex_digit_value(c);
        if (v < 0) continue;
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    REQUIRE(hi < 0);
    return out;
}

inline std::string hex(std::span<const uint8_t> b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

inline Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

inline Bytes concat(std::initializer_list<std::span<const uint8_t>> parts) {
    Bytes out;
    for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

inline Bytes pattern(size_t n, uint8_t seed = 0) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

inline ipc::HandshakeDone make_handoff(uint16_t suite, std::span<const uint8_t> client_secret,
                                       std::span<const uint8_t> server_secret,
                                       uint64_t client_seq = 0, uint64_t server_seq = 0) {
    ipc::HandshakeDone h;
    const SuiteInfo* s = find_suite(suite);
    REQUIRE(s != nullptr);
    h.tls_version = s->version;
    h.cipher_suite = suite;
    h.client_seq = client_seq;
    h.server_seq = server_seq;
    h.client_secret = SecretBytes(client_secret);
    h.server_secret = SecretBytes(server_secret);
    return h;
}

// Fixed secrets of the right length for a suite (distinct per side).
inline ipc::HandshakeDone fixed_handoff(uint16_t suite, uint64_t client_seq = 0,
                                        uint64_t server_seq = 0) {
    size_t n = ipc::handoff_secret_length(suite);
    REQUIRE(n != 0);
    Bytes c(n, 0x11);
    Bytes s(n, 0x22);
    for (size_t i = 0; i < n; ++i) {
        c[i] = static_cast<uint8_t>(0x11 + i);
        s[i] = static_cast<uint8_t>(0x80 + 3 * i);
    }
    return make_handoff(suite, c, s, client_seq, server_seq);
}

inline std::unique_ptr<netproc::RecordLayer> make_layer(const ipc::HandshakeDone& h,
                                                        bool we_are_server) {
    auto r = netproc::RecordLayer::create(h, we_are_server);
    INFO((r ? std::string() : r.message()));
    REQUIRE(r.ok());
    return std::move(r).value();
}

constexpr size_t kBlock = 18 * 1024;  // holds one full record (16 KiB + 261)

// The three buffers of one side of a connection.
struct Side {
    netproc::BufferPool pool{kBlock, 8};
    netproc::IoBuffer in{&pool};
    netproc::IoBuffer plain{&pool};
    netproc::IoBuffer cipher{&pool};

    void feed(std::span<const uint8_t> b) { REQUIRE(in.append(b)); }
    Bytes take_plain() {
        auto r = plain.readable();
        Bytes out(r.begin(), r.end());
        plain.consume(r.size());
        return out;
    }
    Bytes take_cipher() {
        auto r = cipher.readable();
        Bytes out(r.begin(), r.end());
        cipher.consume(r.size());
        return out;
    }
};

// Reads everything that `side.in` holds, checks the outcome is `more`.
inline Bytes read_ok(netproc::RecordLayer& rl, Side& side) {
    auto r = rl.read_records(side.in, side.plain, side.cipher);
    INFO(r.detail);
    REQUIRE(r.outcome == netproc::RecordLayer::ReadOutcome::more);
    return side.take_plain();
}

// Number of TLS records in a byte string of whole records.
inline size_t count_records(std::span<const uint8_t> b) {
    size_t n = 0;
    while (b.size() >= 5) {
        size_t len = static_cast<size_t>(b[3]) << 8 | b[4];
        REQUIRE(b.size() >= 5 + len);
        b = b.subspan(5 + len);
        ++n;
    }
    REQUIRE(b.empty());
    return n;
}

// Moves what `from` sealed into `to`'s input.
inline void transfer(Side& from, Side& to) {
    to.feed(from.take_cipher());
}

// Seals records the way a peer would, with full control over the inner
// plaintext and the header: the source of malformed input.
class PeerSealer {
public:
    PeerSealer(uint16_t suite, std::span<const uint8_t> secret, uint64_t seq) {
        suite_ = find_suite(suite);
        REQUIRE(suite_ != nullptr);
        REQUIRE(keys_.init(*suite_, true, secret, seq).ok());
    }
    // The writer side of a hand-off: the server's keys if `server`.
    PeerSealer(const ipc::HandshakeDone& h, bool server)
        : PeerSealer(h.cipher_suite, server ? h.server_secret.view() : h.client_secret.view(),
                     server ? h.server_seq : h.client_seq) {}

    // TLS 1.3: seals exactly `inner` (content || type || padding) under an
    // outer header of type `outer_type` (23 normally).
    Bytes seal13_inner(std::span<const uint8_t> inner, uint8_t outer_type = 23,
                       uint16_t version = 0x0303) {
        Bytes rec(5 + inner.size() + kAeadTagLen);
        rec[0] = outer_type;
        netproc::store_be16(std::span(rec).subspan<1, 2>(), version);
        netproc::store_be16(std::span(rec).subspan<3, 2>(),
                            static_cast<uint16_t>(inner.size() + kAeadTagLen));
        std::copy(inner.begin(), inner.end(), rec.begin() + 5);
        auto payload = std::span(rec).subspan(5, inner.size());
        auto tag = std::span(rec).last<kAeadTagLen>();
        auto nonce = keys_.record_nonce(keys_.seq++);
        REQUIRE(keys_.aead().seal(nonce, std::span(rec).first(5), payload, payload, tag).ok());
        return rec;
    }
    // TLS 1.3 record of inner content type `type` with `padding` zeros.
    Bytes seal13(uint8_t type, std::span<const uint8_t> content, size_t padding = 0) {
        Bytes inner(content.begin(), content.end());
        inner.push_back(type);
        inner.resize(inner.size() + padding, 0);
        return seal13_inner(inner);
    }
    // TLS 1.2 record (explicit nonce = seq for AES-GCM).
    Bytes seal12(uint8_t type, std::span<const uint8_t> content, uint16_t version = 0x0303) {
        bool gcm = suite_->aead != Aead::chacha20_poly1305;
        size_t explicit_len = gcm ? 8 : 0;
        Bytes rec(5 + explicit_len + content.size() + kAeadTagLen);
        rec[0] = type;
        netproc::store_be16(std::span(rec).subspan<1, 2>(), version);
        netproc::store_be16(std::span(rec).subspan<3, 2>(), static_cast<uint16_t>(rec.size() - 5));
        uint64_t seq = keys_.seq++;
        if (gcm) netproc::store_be64(std::span(rec).subspan<5, 8>(), seq);
        std::copy(content.begin(), content.end(), rec.begin() + 5 + explicit_len);
        Bytes aad(13);
        netproc::store_be64(std::span(aad).first<8>(), seq);
        aad[8] = type;
        netproc::store_be16(std::span(aad).subspan<9, 2>(), 0x0303);
        netproc::store_be16(std::span(aad).subspan<11, 2>(), static_cast<uint16_t>(content.size()));
        auto payload = std::span(rec).subspan(5 + explicit_len, content.size());
        auto tag = std::span(rec).last<kAeadTagLen>();
        REQUIRE(keys_.aead().seal(keys_.record_nonce(seq), aad, payload, payload, tag).ok());
        return rec;
    }
    Bytes app(std::string_view s) {
        auto b = bytes_of(s);
        return suite_->version == kTls13 ? seal13(23, b) : seal12(23, b);
    }
    Bytes alert(uint8_t level, netproc::Alert a) {
        Bytes b{level, static_cast<uint8_t>(a)};
        return suite_->version == kTls13 ? seal13(21, b) : seal12(21, b);
    }
    Bytes handshake(std::span<const uint8_t> msgs) {
        return suite_->version == kTls13 ? seal13(22, msgs) : seal12(22, msgs);
    }
    // Our own KeyUpdate went out: switch to the next key.
    void rotate() { REQUIRE(netproc::apply_key_update(keys_).ok()); }
    uint64_t seq() const { return keys_.seq; }

private:
    const SuiteInfo* suite_ = nullptr;
    netproc::DirectionKeys keys_;
};

// A KeyUpdate message with any request value and optional extra body bytes.
inline Bytes key_update_msg(uint8_t request, size_t extra = 0) {
    Bytes m{24, 0, 0, static_cast<uint8_t>(1 + extra), request};
    m.resize(m.size() + extra, 0);
    return m;
}

// A syntactically valid NewSessionTicket (RFC 8446 4.6.1).
inline Bytes new_session_ticket_msg(size_t ticket_len = 32) {
    ByteWriter w;
    w.u8(4);
    size_t at = w.begin_length(3);
    w.u32(7200);          // ticket_lifetime
    w.u32(0x01020304);    // ticket_age_add
    w.u8_string("\xaa");  // ticket_nonce
    w.u16_bytes(pattern(ticket_len));
    w.u16(0);  // no extensions
    w.end_length(at, 3);
    return Bytes(w.buffer().begin(), w.buffer().end());
}

}  // namespace tlsward::rltest
