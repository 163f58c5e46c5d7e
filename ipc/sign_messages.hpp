// The signer's messages (docs/internals.md, "The signer"): what the
// supervisor sends it (keys, configuration, the helpers' channels), and the
// narrow signing protocol between a crypto helper and the signer. A helper
// sends the message to be signed (the TLS input before hashing), never a
// digest: the signer checks its exact shape (signer/sign_shape.cpp), hashes
// it and signs it, and signs nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/secret.hpp"
#include "ipc/frame.hpp"

namespace tlsward::ipc {

// The name of a signer message type, for ipc/frame.cpp; nullptr for any
// other type.
const char* sign_msg_type_name(MsgType t);

// What a signature is for. Each kind has one exact input shape.
enum class SignKind : uint8_t {
    // 64 x 0x20, "TLS 1.3, server CertificateVerify", 0x00, transcript hash
    tls13_server_certificate_verify = 1,
    // the same with "TLS 1.3, client CertificateVerify"
    tls13_client_certificate_verify = 2,
    // client random, server random, ECDHE parameters (RFC 8422 5.4)
    tls12_server_key_exchange = 3,
    // the handshake messages from ClientHello to ClientKeyExchange (RFC 5246 7.4.8)
    tls12_client_certificate_verify = 4,
};
constexpr uint8_t kSignKindLast = 4;
const char* sign_kind_name(SignKind k);
constexpr uint8_t sign_kind_bit(SignKind k) {
    return static_cast<uint8_t>(1u << static_cast<uint8_t>(k));
}
// What a key may sign: a server certificate's key, a client certificate's key.
constexpr uint8_t kServerKinds = sign_kind_bit(SignKind::tls13_server_certificate_verify) |
                                 sign_kind_bit(SignKind::tls12_server_key_exchange);
constexpr uint8_t kClientKinds = sign_kind_bit(SignKind::tls13_client_certificate_verify) |
                                 sign_kind_bit(SignKind::tls12_client_certificate_verify);

// The key types the signer holds.
enum class KeyAlgorithm : uint8_t { rsa = 1, ec_p256 = 2, ec_p384 = 3, ed25519 = 4 };
const char* key_algorithm_name(KeyAlgorithm a);

// TLS SignatureScheme codes (RFC 8446 4.2.3) tlsward signs with. In TLS 1.2
// an ECDSA code names the hash only; in TLS 1.3 it also names the curve.
struct SchemeInfo {
    uint16_t code = 0;
    const char* name = "";
    bool rsa = false;
    bool ecdsa = false;
    bool pss = false;            // RSASSA-PSS, salt = hash length, MGF1 with the same hash
    int hash_bytes = 0;          // 32, 48, 64; 0: Ed25519 (no separate hash)
    const char* hash = nullptr;  // OpenSSL digest name
};
const SchemeInfo* find_scheme(uint16_t code);
// The scheme for a signature operation, as the helper's provider sees it.
const SchemeInfo* scheme_for(KeyAlgorithm alg, int hash_bytes, bool pss);

// Longest message a helper may ask to have signed: a TLS 1.2 client's
// transcript (with the server's certificate chain) is the longest input.
constexpr size_t kMaxSignMessage = 48 * 1024;
// Longest signature (RSA-8192).
constexpr size_t kMaxSignature = 1024;

// --- supervisor -> signer --------------------------------------------------

// A private key (PEM or DER) held under an opaque id, and what it may sign
// (sign_kind_bit mask). The bytes are wiped when the message is destroyed,
// and by the signer once the key is loaded.
struct SgKey {
    static constexpr MsgType kType = MsgType::sg_key;
    uint64_t key_id = 0;
    uint8_t kinds = 0;
    SecretBytes key;
};

// The key is no longer used by any configuration.
struct SgForgetKey {
    static constexpr MsgType kType = MsgType::sg_forget_key;
    uint64_t key_id = 0;
};

// The signer's settings; also "every key has been sent" (the signer
// answers READY{generation}).
struct SgConfig {
    static constexpr MsgType kType = MsgType::sg_config;
    uint32_t generation = 0;
    // Per helper channel: signatures per second and the burst a helper may
    // use at once. A helper over the cap is cut off.
    uint64_t rate = 0;
    uint64_t burst = 0;
};

// The signer's end of a channel to one helper (the fd is attached).
struct SgHelperChannel {
    static constexpr MsgType kType = MsgType::sg_helper_channel;
    uint32_t slot = 0;
    uint32_t generation = 0;
};

// --- signer -> supervisor --------------------------------------------------

// The signer cut a helper off (a request of the wrong shape, over the rate
// cap, malformed): the supervisor replaces that helper.
struct SgHelperCut {
    static constexpr MsgType kType = MsgType::sg_helper_cut;
    uint32_t slot = 0;
    uint32_t generation = 0;
    std::string reason;
};

// --- helper <-> signer -----------------------------------------------------

struct SignRequest {
    uint64_t id = 0;  // the helper's, unique on its channel, increasing
    uint64_t key_id = 0;
    SignKind kind = SignKind::tls13_server_certificate_verify;
    uint16_t scheme = 0;
    std::vector<uint8_t> message;
};

// Requests that queued up during one turn of the helper's loop, together.
struct SignBatch {
    static constexpr MsgType kType = MsgType::sg_sign;
    std::vector<SignRequest> requests;
};

enum class SignStatus : uint8_t {
    ok = 0,
    unknown_key = 1,  // not (or no longer) held: a reload raced the handshake
    failed = 2,       // the signature operation itself failed
};
const char* sign_status_name(SignStatus s);

struct SignAnswer {
    uint64_t id = 0;
    SignStatus status = SignStatus::ok;
    std::vector<uint8_t> signature;
};

// The answers to one batch, in the batch's order.
struct SignAnswers {
    static constexpr MsgType kType = MsgType::sg_signatures;
    std::vector<SignAnswer> answers;
};

// Bytes a request adds to a SignBatch body (for packing batches).
size_t encoded_size(const SignRequest& r);

void encode(ByteWriter& w, const SgKey& m);
void encode(ByteWriter& w, const SgForgetKey& m);
void encode(ByteWriter& w, const SgConfig& m);
void encode(ByteWriter& w, const SgHelperChannel& m);
void encode(ByteWriter& w, const SgHelperCut& m);
void encode(ByteWriter& w, const SignBatch& m);
void encode(ByteWriter& w, const SignAnswers& m);

bool decode(ByteReader& r, SgKey& m);
bool decode(ByteReader& r, SgForgetKey& m);
bool decode(ByteReader& r, SgConfig& m);
bool decode(ByteReader& r, SgHelperChannel& m);
bool decode(ByteReader& r, SgHelperCut& m);
bool decode(ByteReader& r, SignBatch& m);
bool decode(ByteReader& r, SignAnswers& m);

}  // namespace tlsward::ipc
