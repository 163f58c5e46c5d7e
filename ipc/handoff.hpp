// HANDSHAKE_DONE: what a helper hands netproc after a successful handshake,
// i.e. everything netproc's record layer needs to carry the connection on
// (the s2n serialization blob plus BoringSSL's handback, see
// docs/internals.md). It is versioned, validated field by field against
// the suite it names, and wiped on both sides once used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/secret.hpp"
#include "ipc/messages.hpp"

namespace tlsward::ipc {

constexpr uint8_t kHandoffFormat = 2;
// Bytes the helper read past the handshake: at most one read's worth.
constexpr size_t kMaxLeftover = 18 * 1024;
// A certificate CN is at most 64 characters (X.520); in UTF-8 at most 256 bytes.
constexpr size_t kMaxPeerCn = 256;
// What a hand-off may say, checked by decode() and again by netproc's
// RecordLayer::create (which tests also feed directly): one set of bounds.
// A helper's first sequence numbers are the records it sent after its
// Finished (TLS 1.3 tickets; 1 in TLS 1.2), so 2^32 is far above anything
// real and far below a wrap. max_plaintext is 2^14, or less when the client
// asked for max_fragment_length (RFC 6066: 512 at the least).
constexpr uint64_t kMaxHandoffSeq = 1ULL << 32;
constexpr uint16_t kMinHandoffPlaintext = 512;
constexpr uint16_t kMaxHandoffPlaintext = 16384;

struct HandshakeDone {
    static constexpr MsgType kType = MsgType::hs_done;
    uint64_t conn_id = 0;
    uint32_t helper_generation = 0;
    uint16_t tls_version = 0;   // kTls12 / kTls13
    uint16_t cipher_suite = 0;  // IANA code point, one of common/tls_suites
    // Sequence number of the next record each side sends under the keys below.
    uint64_t client_seq = 0;
    uint64_t server_seq = 0;
    uint16_t max_plaintext = 16384;  // lower if max_fragment_length was negotiated
    // TLS 1.3: client/server application traffic secret 0 (hash length).
    // TLS 1.2: the key block split per writer: write key || write IV.
    SecretBytes client_secret;
    SecretBytes server_secret;
    std::string alpn;
    std::string sni;
    std::string peer_identity;  // subject of the peer certificate, if any (RFC 2253)
    // The peer certificate's identity, for logs and PROXY v2 TLVs.
    std::string peer_cn;                    // subject CN (UTF-8), empty if none
    std::vector<uint8_t> peer_spki_sha256;  // 32 bytes, or empty without a peer certificate
    uint8_t flags = 0;                      // kHandoff* bits below
    std::vector<uint8_t> leftover;          // ciphertext read past the handshake
};

// HandshakeDone::flags
constexpr uint8_t kHandoffPeerCert =
    0x01;  // the peer has a certificate (this handshake or the resumed session)
constexpr uint8_t kHandoffPeerVerified = 0x02;  // ... and it verified against the configured CAs
constexpr uint8_t kHandoffResumed = 0x04;       // the session was resumed (ticket)
constexpr uint8_t kHandoffFlagsKnown = 0x07;

void encode(ByteWriter& w, const HandshakeDone& m);
bool decode(ByteReader& r, HandshakeDone& m);

// Length a secret must have for a suite (hash length, or key + IV length).
size_t handoff_secret_length(uint16_t suite);

}  // namespace tlsward::ipc
