// libFuzzer target: the record layer's input path as netproc drives it
// after a hand-off. Random bytes would almost never pass the AEAD tag, so
// the input is a script for a peer that holds the right keys: it seals
// records whose inner plaintext the fuzzer chooses (any content type,
// padding, handshake fragments, KeyUpdates, alerts), adds raw bytes
// (garbage, bad headers), corrupts tags, and says when netproc reads and
// whether it drains its buffers (backpressure). Invariants checked:
// a fatal or close_notify outcome is final, app_bytes is what plain_out
// gained, and nothing is sealed after the connection ended.
//
// Script: byte 0 picks the suite (all_suites()) and our role (bit 7).
// Then operations, each `op u8` and, for those with data, `len u16` and
// `len` bytes (cut short at the end of the input):
//   0 sealed record (TLS 1.3: data is the inner plaintext; TLS 1.2: type
//     20 + (op >> 3) % 4, data is the content)
//   1 raw bytes onto the wire
//   2 sealed record with a corrupted tag
//   3 KeyUpdate (request = op >> 3 & 1) sealed and applied by the peer
//   4 netproc reads; op bit 3 set: leave plain_out and cipher_out full
//   5 netproc writes: (op >> 3) % 3 picks data, a KeyUpdate, an alert
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/tls_suites.hpp"
#include "ipc/handoff.hpp"
#include "netproc/buffer_pool.hpp"
#include "netproc/key_update.hpp"
#include "netproc/record_layer.hpp"
#include "netproc/traffic_keys.hpp"

using namespace tlsward;
using namespace tlsward::netproc;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kMaxOperations = 256;

[[noreturn]] void invariant_broken() {
    std::abort();
}

struct Script {
    std::span<const uint8_t> in;
    bool u8(uint8_t& v) {
        if (in.empty()) return false;
        v = in[0];
        in = in.subspan(1);
        return true;
    }
    std::span<const uint8_t> chunk() {
        uint8_t hi = 0;
        uint8_t lo = 0;
        if (!u8(hi) || !u8(lo)) return {};
        size_t n = std::min<size_t>(static_cast<size_t>(hi) << 8 | lo, in.size());
        auto c = in.first(n);
        in = in.subspan(n);
        return c;
    }
};

// The peer's write direction: seals whatever the script asks for.
class Peer {
public:
    Peer(const SuiteInfo& suite, std::span<const uint8_t> secret, uint64_t seq) : suite_(suite) {
        if (!keys_.init(suite, true, secret, seq)) invariant_broken();
    }

    Bytes seal(uint8_t type, std::span<const uint8_t> data) {
        bool tls13 = suite_.version == kTls13;
        bool gcm12 = !tls13 && suite_.aead != Aead::chacha20_poly1305;
        size_t explicit_len = gcm12 ? kTls12ExplicitNonceLen : 0;
        // A header length field holds 16 bits; longer scripts are cut.
        data = data.first(std::min<size_t>(data.size(), 0xffff - explicit_len - kAeadTagLen));
        Bytes rec(kRecordHeaderLen + explicit_len + data.size() + kAeadTagLen);
        rec[0] = tls13 ? 23 : type;
        store_be16(std::span(rec).subspan<1, 2>(), 0x0303);
        store_be16(std::span(rec).subspan<3, 2>(),
                   static_cast<uint16_t>(rec.size() - kRecordHeaderLen));
        uint64_t seq = keys_.seq++;
        if (gcm12) store_be64(std::span(rec).subspan<5, 8>(), seq);
        std::copy(data.begin(), data.end(), rec.begin() + 5 + static_cast<long>(explicit_len));
        Bytes aad(rec.begin(), rec.begin() + kRecordHeaderLen);
        if (!tls13) {
            aad.assign(13, 0);
            store_be64(std::span(aad).first<8>(), seq);
            aad[8] = type;
            store_be16(std::span(aad).subspan<9, 2>(), 0x0303);
            store_be16(std::span(aad).subspan<11, 2>(), static_cast<uint16_t>(data.size()));
        }
        auto payload = std::span(rec).subspan(5 + explicit_len, data.size());
        auto tag = std::span(rec).last<kAeadTagLen>();
        if (!keys_.aead().seal(keys_.record_nonce(seq), aad, payload, payload, tag))
            invariant_broken();
        return rec;
    }
    void rotate() {
        if (!apply_key_update(keys_)) invariant_broken();
    }
    bool tls13() const { return suite_.version == kTls13; }

private:
    const SuiteInfo& suite_;
    DirectionKeys keys_;
};

struct Netproc {
    BufferPool pool{32 * 1024, 4};
    IoBuffer in{&pool};
    IoBuffer plain{&pool};
    IoBuffer cipher{&pool};
    Bytes wire;  // bytes sent by the peer that did not fit `in` yet
    bool ended = false;

    void read(RecordLayer& rl, bool drain) {
        for (int round = 0; round < 64; ++round) {
            size_t n = std::min(wire.size(), in.free_space());
            if (n > 0 && !in.append(std::span(wire).first(n))) invariant_broken();
            wire.erase(wire.begin(), wire.begin() + static_cast<long>(n));
            size_t before = plain.size();
            size_t in_before = in.size();
            auto r = rl.read_records(in, plain, cipher);
            if (plain.size() - before != r.app_bytes) invariant_broken();
            if (ended && r.outcome != RecordLayer::ReadOutcome::fatal) invariant_broken();
            if (r.outcome != RecordLayer::ReadOutcome::more) {
                ended = true;
                if (rl.read_records(in, plain, cipher).outcome != RecordLayer::ReadOutcome::fatal)
                    invariant_broken();
            }
            if (!drain) return;
            plain.consume(plain.size());
            cipher.consume(cipher.size());
            if (ended || (in.size() == in_before && wire.empty())) return;
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool prefetched = RecordLayer::prefetch_algorithms().ok();
    if (!prefetched) invariant_broken();
    Script script{std::span(data, size)};
    uint8_t first = 0;
    if (!script.u8(first)) return 0;
    auto suites = all_suites();
    const SuiteInfo& suite = suites[first % suites.size()];
    bool we_are_server = (first & 0x80) != 0;

    ipc::HandshakeDone h;
    h.tls_version = suite.version;
    h.cipher_suite = suite.id;
    h.max_plaintext = (first & 0x40) ? 512 : kMaxPlaintext;
    size_t secret_len = ipc::handoff_secret_length(suite.id);
    Bytes c(secret_len, 0x11);
    Bytes s(secret_len, 0x22);
    h.client_secret = SecretBytes(std::span<const uint8_t>(c));
    h.server_secret = SecretBytes(std::span<const uint8_t>(s));
    h.client_seq = suite.version == kTls13 ? 0 : 1;
    h.server_seq = h.client_seq;
    auto created = RecordLayer::create(h, we_are_server);
    if (!created) invariant_broken();
    auto rl = std::move(created).value();
    Peer peer(suite, we_are_server ? c : s, h.client_seq);

    Netproc np;
    // Each KeyUpdate costs two HKDF derivations: an input of thousands of
    // them would run for a tenth of a second and slow the search down to a
    // crawl. 256 operations reach every state.
    uint8_t op = 0;
    for (int ops = 0; ops < kMaxOperations && script.u8(op); ++ops) {
        switch (op % 6) {
            case 0: {
                auto rec = peer.seal(static_cast<uint8_t>(20 + (op >> 3) % 4), script.chunk());
                np.wire.insert(np.wire.end(), rec.begin(), rec.end());
                break;
            }
            case 1: {
                auto raw = script.chunk();
                np.wire.insert(np.wire.end(), raw.begin(), raw.end());
                break;
            }
            case 2: {
                auto rec = peer.seal(static_cast<uint8_t>(20 + (op >> 3) % 4), script.chunk());
                rec.back() ^= 0x01;
                np.wire.insert(np.wire.end(), rec.begin(), rec.end());
                break;
            }
            case 3: {
                if (!peer.tls13()) break;
                auto msg =
                    key_update_message((op >> 3) & 1 ? KeyUpdateRequest::update_requested
                                                     : KeyUpdateRequest::update_not_requested);
                Bytes inner(msg.begin(), msg.end());
                inner.push_back(22);
                auto rec = peer.seal(23, inner);
                np.wire.insert(np.wire.end(), rec.begin(), rec.end());
                peer.rotate();
                break;
            }
            case 4:
                np.read(*rl, (op & 0x08) == 0);
                break;
            case 5: {
                bool could_write = rl->can_write();
                size_t before = np.cipher.size();
                switch ((op >> 3) % 3) {
                    case 0: {
                        Bytes msg(static_cast<size_t>(op) * 97 % 3000, 0x5a);
                        (void)rl->seal(msg, np.cipher);
                        break;
                    }
                    case 1:
                        (void)rl->send_key_update((op & 0x80) != 0, np.cipher);
                        break;
                    default:
                        (void)rl->seal_alert(Alert::close_notify, np.cipher);
                        break;
                }
                if (!could_write && np.cipher.size() != before) invariant_broken();
                np.cipher.consume(np.cipher.size());
                break;
            }
        }
    }
    np.read(*rl, true);
    return 0;
}
