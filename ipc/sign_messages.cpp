#include "ipc/sign_messages.hpp"

#include <openssl/crypto.h>

namespace tlsward::ipc {

namespace {

// Requests or answers in one message: a frame holds 64 KiB, and even an
// empty request takes 21 bytes.
constexpr size_t kMaxBatch = 4096;
// A reason string from the signer.
constexpr size_t kMaxReason = 1024;

const SchemeInfo kSchemes[] = {
    {0x0401, "rsa_pkcs1_sha256", true, false, false, 32, "SHA2-256"},
    {0x0501, "rsa_pkcs1_sha384", true, false, false, 48, "SHA2-384"},
    {0x0601, "rsa_pkcs1_sha512", true, false, false, 64, "SHA2-512"},
    {0x0804, "rsa_pss_rsae_sha256", true, false, true, 32, "SHA2-256"},
    {0x0805, "rsa_pss_rsae_sha384", true, false, true, 48, "SHA2-384"},
    {0x0806, "rsa_pss_rsae_sha512", true, false, true, 64, "SHA2-512"},
    {0x0403, "ecdsa_secp256r1_sha256", false, true, false, 32, "SHA2-256"},
    {0x0503, "ecdsa_secp384r1_sha384", false, true, false, 48, "SHA2-384"},
    {0x0603, "ecdsa_secp521r1_sha512", false, true, false, 64, "SHA2-512"},
    {0x0807, "ed25519", false, false, false, 0, nullptr},
};

bool get_kind(ByteReader& r, SignKind& out) {
    uint8_t v = 0;
    if (!r.u8(v) || v == 0 || v > kSignKindLast) return false;
    out = static_cast<SignKind>(v);
    return true;
}

bool get_bytes(ByteReader& r, std::vector<uint8_t>& out, size_t max) {
    ByteReader b;
    if (!r.u16_prefixed(b) || b.remaining() > max) return false;
    auto rest = b.rest();
    out.assign(rest.begin(), rest.end());
    return true;
}

}  // namespace

const char* sign_msg_type_name(MsgType t) {
    switch (t) {
        case MsgType::sg_key:
            return "SG_KEY";
        case MsgType::sg_forget_key:
            return "SG_FORGET_KEY";
        case MsgType::sg_config:
            return "SG_CONFIG";
        case MsgType::sg_helper_channel:
            return "SG_HELPER_CHANNEL";
        case MsgType::sg_helper_cut:
            return "SG_HELPER_CUT";
        case MsgType::sg_sign:
            return "SG_SIGN";
        case MsgType::sg_signatures:
            return "SG_SIGNATURES";
        default:
            return nullptr;
    }
}

const char* sign_kind_name(SignKind k) {
    switch (k) {
        case SignKind::tls13_server_certificate_verify:
            return "tls13_server_certificate_verify";
        case SignKind::tls13_client_certificate_verify:
            return "tls13_client_certificate_verify";
        case SignKind::tls12_server_key_exchange:
            return "tls12_server_key_exchange";
        case SignKind::tls12_client_certificate_verify:
            return "tls12_client_certificate_verify";
    }
    return "unknown";
}

const char* key_algorithm_name(KeyAlgorithm a) {
    switch (a) {
        case KeyAlgorithm::rsa:
            return "RSA";
        case KeyAlgorithm::ec_p256:
            return "ECDSA P-256";
        case KeyAlgorithm::ec_p384:
            return "ECDSA P-384";
        case KeyAlgorithm::ed25519:
            return "Ed25519";
    }
    return "unknown";
}

const char* sign_status_name(SignStatus s) {
    switch (s) {
        case SignStatus::ok:
            return "ok";
        case SignStatus::unknown_key:
            return "unknown_key";
        case SignStatus::failed:
            return "failed";
    }
    return "unknown";
}

const SchemeInfo* find_scheme(uint16_t code) {
    for (const SchemeInfo& s : kSchemes)
        if (s.code == code) return &s;
    return nullptr;
}

const SchemeInfo* scheme_for(KeyAlgorithm alg, int hash_bytes, bool pss) {
    for (const SchemeInfo& s : kSchemes) {
        bool fits = alg == KeyAlgorithm::rsa       ? s.rsa && s.pss == pss
                    : alg == KeyAlgorithm::ed25519 ? !s.rsa && !s.ecdsa
                                                   : s.ecdsa;
        if (fits && s.hash_bytes == hash_bytes) return &s;
    }
    return nullptr;
}

size_t encoded_size(const SignRequest& r) {
    return 8 + 8 + 1 + 2 + 2 + r.message.size();
}

void encode(ByteWriter& w, const SgKey& m) {
    w.u64(m.key_id);
    w.u8(m.kinds);
    w.u32_bytes(m.key.view());
}
bool decode(ByteReader& r, SgKey& m) {
    ByteReader key;
    if (!r.u64(m.key_id) || !r.u8(m.kinds) || m.kinds == 0 || !r.u32_prefixed(key) || key.empty())
        return false;
    // Only the kinds that exist (bit 0 and those above the last are not).
    if ((m.kinds & ~(kServerKinds | kClientKinds)) != 0) return false;
    m.key = SecretBytes(key.rest());
    return true;
}

void encode(ByteWriter& w, const SgForgetKey& m) {
    w.u64(m.key_id);
}
bool decode(ByteReader& r, SgForgetKey& m) {
    return r.u64(m.key_id);
}

void encode(ByteWriter& w, const SgConfig& m) {
    w.u32(m.generation);
    w.u64(m.rate);
    w.u64(m.burst);
}
bool decode(ByteReader& r, SgConfig& m) {
    // A cap of 0 would cut every helper at its first signature.
    return r.u32(m.generation) && r.u64(m.rate) && r.u64(m.burst) && m.rate > 0 && m.burst > 0;
}

void encode(ByteWriter& w, const SgHelperChannel& m) {
    w.u32(m.slot);
    w.u32(m.generation);
}
bool decode(ByteReader& r, SgHelperChannel& m) {
    return r.u32(m.slot) && r.u32(m.generation);
}

void encode(ByteWriter& w, const SgHelperCut& m) {
    w.u32(m.slot);
    w.u32(m.generation);
    w.u16_string(std::string_view(m.reason).substr(0, kMaxReason));
}
bool decode(ByteReader& r, SgHelperCut& m) {
    ByteReader reason;
    if (!r.u32(m.slot) || !r.u32(m.generation) || !r.u16_prefixed(reason) ||
        reason.remaining() > kMaxReason)
        return false;
    m.reason = std::string(as_string_view(reason.rest()));
    return true;
}

void encode(ByteWriter& w, const SignBatch& m) {
    w.u16(static_cast<uint16_t>(m.requests.size()));
    for (const SignRequest& q : m.requests) {
        w.u64(q.id);
        w.u64(q.key_id);
        w.u8(static_cast<uint8_t>(q.kind));
        w.u16(q.scheme);
        w.u16_bytes(q.message);
    }
}
bool decode(ByteReader& r, SignBatch& m) {
    uint16_t n = 0;
    if (!r.u16(n) || n == 0 || n > kMaxBatch) return false;
    m.requests.resize(n);
    for (SignRequest& q : m.requests)
        if (!r.u64(q.id) || !r.u64(q.key_id) || !get_kind(r, q.kind) || !r.u16(q.scheme) ||
            !get_bytes(r, q.message, kMaxSignMessage) || q.message.empty())
            return false;
    return true;
}

void encode(ByteWriter& w, const SignAnswers& m) {
    w.u16(static_cast<uint16_t>(m.answers.size()));
    for (const SignAnswer& a : m.answers) {
        w.u64(a.id);
        w.u8(static_cast<uint8_t>(a.status));
        w.u16_bytes(a.signature);
    }
}
bool decode(ByteReader& r, SignAnswers& m) {
    uint16_t n = 0;
    if (!r.u16(n) || n == 0 || n > kMaxBatch) return false;
    m.answers.resize(n);
    for (SignAnswer& a : m.answers) {
        uint8_t status = 0;
        if (!r.u64(a.id) || !r.u8(status) || status > static_cast<uint8_t>(SignStatus::failed) ||
            !get_bytes(r, a.signature, kMaxSignature))
            return false;
        a.status = static_cast<SignStatus>(status);
        // A signature exactly when the status says so.
        if ((a.status == SignStatus::ok) == a.signature.empty()) return false;
    }
    return true;
}

}  // namespace tlsward::ipc
