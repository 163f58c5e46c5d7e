#include "cryptoproc/key_export.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <cstring>

#include "common/hex.hpp"
#include "common/openssl_error.hpp"
#include "common/tls_suites.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "cryptoproc/peer_verify.hpp"
#include "cryptoproc/session_tickets.hpp"

namespace tlsward::cryptoproc {

namespace {

// Fetched once per process (docs/internals.md, "Fetch once": OpenSSL 3
// fetches on every use unless the caller fetches once).
struct Algorithms {
    EvpKdfPtr tls1_prf;
    // The PRF takes its digest by name and fetches it itself; holding the
    // digests keeps them resident in the provider's method cache.
    EvpMdPtr sha256;
    EvpMdPtr sha384;
    int capture_index = -1;
};

Algorithms& algorithms() {
    static Algorithms a;
    return a;
}

constexpr std::string_view kClientTraffic = "CLIENT_TRAFFIC_SECRET_0";
constexpr std::string_view kServerTraffic = "SERVER_TRAFFIC_SECRET_0";
constexpr std::string_view kKeyExpansion = "key expansion";
constexpr size_t kRandomLen = SSL3_RANDOM_SIZE;
constexpr size_t kMaxPeerIdentity = 1024;

// The next space-separated field of a key log line.
std::string_view next_field(std::string_view& rest) {
    size_t sp = rest.find(' ');
    std::string_view f = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    return f;
}

std::string peer_identity(SSL* ssl) {
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (!peer) return {};
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) < 0)
        return {};
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    if (n <= 0) return {};
    return std::string(data, std::min(static_cast<size_t>(n), kMaxPeerIdentity));
}

// Writer key || writer IV from the key block (client key, server key,
// client IV, server IV; AEAD suites have no MAC keys).
SecretBytes writer_secret(const SecretBytes& block, const SuiteInfo& s, bool client) {
    SecretBytes out(s.key_len + s.iv_len);
    const uint8_t* key = block.data() + (client ? 0 : s.key_len);
    const uint8_t* iv = block.data() + 2 * s.key_len + (client ? 0 : s.iv_len);
    std::memcpy(out.data(), key, s.key_len);
    std::memcpy(out.data() + s.key_len, iv, s.iv_len);
    return out;
}

}  // namespace

Status key_export_init() {
    Algorithms& a = algorithms();
    if (a.tls1_prf) return {};
    a.tls1_prf.reset(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_TLS1_PRF, nullptr));
    if (!a.tls1_prf)
        return err(ErrorKind::internal, "EVP_KDF_fetch(TLS1-PRF): %s", openssl_errors().c_str());
    a.sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    a.sha384.reset(EVP_MD_fetch(nullptr, "SHA384", nullptr));
    if (!a.sha256 || !a.sha384)
        return err(ErrorKind::internal, "EVP_MD_fetch(SHA2): %s", openssl_errors().c_str());
    a.capture_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    if (a.capture_index < 0)
        return err(ErrorKind::internal, "SSL_get_ex_new_index: %s", openssl_errors().c_str());
    // What the TLS callbacks use, fetched now too (before the sandbox).
    if (auto s = peer_verify_init(); !s) return s;
    return session_tickets_init();
}

Status KeyCapture::attach(SSL* ssl) {
    int idx = algorithms().capture_index;
    if (idx < 0) return err(ErrorKind::internal, "key_export_init was not called");
    if (SSL_set_ex_data(ssl, idx, this) != 1)
        return err(ErrorKind::internal, "SSL_set_ex_data: %s", openssl_errors().c_str());
    return {};
}

void KeyCapture::on_line(std::string_view line, std::span<const uint8_t> client_random) {
    std::string_view rest = line;
    std::string_view label = next_field(rest);
    SecretBytes* target = label == kClientTraffic   ? &client_
                          : label == kServerTraffic ? &server_
                                                    : nullptr;
    if (!target) return;
    std::string_view random_hex = next_field(rest);
    std::string_view secret_hex = next_field(rest);
    uint8_t random[kRandomLen];
    bool ok = rest.empty();  // exactly three fields
    ok = ok && hex_decode(random_hex, random);
    ok = ok &&
         (client_random.empty() || (client_random.size() == kRandomLen &&
                                    std::memcmp(random, client_random.data(), kRandomLen) == 0));
    ok = ok && secret_hex.size() % 2 == 0 && !secret_hex.empty() &&
         secret_hex.size() / 2 <= kMaxHashLen;
    SecretBytes secret(ok ? secret_hex.size() / 2 : 0);
    ok = ok && hex_decode(secret_hex, secret.span());
    if (!ok || !target->empty()) {
        malformed_ = true;
        return;
    }
    *target = std::move(secret);
}

void KeyCapture::wipe() {
    client_.wipe();
    server_.wipe();
}

void keylog_callback(const SSL* ssl, const char* line) {
    int idx = algorithms().capture_index;
    if (idx < 0 || !line) return;
    auto* capture = static_cast<KeyCapture*>(SSL_get_ex_data(ssl, idx));
    if (!capture) return;
    uint8_t random[kRandomLen];
    size_t n = SSL_get_client_random(ssl, random, sizeof random);
    capture->on_line(line, std::span<const uint8_t>(random, n == kRandomLen ? n : 0));
}

Result<SecretBytes> tls12_key_block(const char* digest, std::span<const uint8_t> master,
                                    std::span<const uint8_t> server_random,
                                    std::span<const uint8_t> client_random, size_t length) {
    Algorithms& a = algorithms();
    if (!a.tls1_prf) return err(ErrorKind::internal, "key_export_init was not called");
    std::vector<uint8_t> seed;
    seed.reserve(kKeyExpansion.size() + server_random.size() + client_random.size());
    seed.insert(seed.end(), kKeyExpansion.begin(), kKeyExpansion.end());
    seed.insert(seed.end(), server_random.begin(), server_random.end());
    seed.insert(seed.end(), client_random.begin(), client_random.end());

    EvpKdfCtxPtr kctx(EVP_KDF_CTX_new(a.tls1_prf.get()));
    if (!kctx)
        return err(ErrorKind::internal, "EVP_KDF_CTX_new(TLS1-PRF): %s", openssl_errors().c_str());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
                                          const_cast<uint8_t*>(master.data()), master.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
        OSSL_PARAM_construct_end(),
    };
    SecretBytes block(length);
    if (EVP_KDF_derive(kctx.get(), block.data(), block.size(), params) != 1)
        return err(ErrorKind::internal, "TLS1-PRF(%s) key expansion: %s", digest,
                   openssl_errors().c_str());
    return block;
}

Result<ipc::HandshakeDone> export_handshake(SSL* ssl, const KeyCapture& keys,
                                            uint64_t records_after_finished) {
    ipc::HandshakeDone d;
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    SSL_SESSION* session = SSL_get_session(ssl);
    if (!cipher || !session)
        return err(ErrorKind::internal, "no cipher or session after the handshake");
    int version = SSL_version(ssl);
    uint16_t id = SSL_CIPHER_get_protocol_id(cipher);
    const SuiteInfo* suite = find_suite(id);
    if (!suite)
        return err(ErrorKind::internal, "negotiated suite 0x%04x is not one netproc runs", id);
    if (suite->version != version)
        return err(ErrorKind::internal, "suite %s negotiated with version 0x%04x", suite->name,
                   version);
    const EVP_MD* md = SSL_CIPHER_get_handshake_digest(cipher);
    if (!md || !EVP_MD_is_a(md, suite->digest))
        return err(ErrorKind::internal, "suite %s: OpenSSL's handshake digest is not %s",
                   suite->name, suite->digest);
    bool server = SSL_is_server(ssl) == 1;
    d.tls_version = suite->version;
    d.cipher_suite = suite->id;

    // Sequence numbers of the next record each side sends. TLS 1.3: the
    // application keys start at 0 (our own count goes up by every record
    // we wrote after our Finished, e.g. tickets). TLS 1.2: each Finished
    // was record 0 under the new keys.
    uint64_t peer_next = version == TLS1_3_VERSION ? 0 : 1;
    uint64_t own_next = peer_next + records_after_finished;
    d.client_seq = server ? peer_next : own_next;
    d.server_seq = server ? own_next : peer_next;

    if (version == TLS1_3_VERSION) {
        if (keys.malformed())
            return err(ErrorKind::internal, "malformed traffic secret line in the key log");
        if (keys.client_traffic().size() != suite->hash_len ||
            keys.server_traffic().size() != suite->hash_len)
            return err(ErrorKind::internal,
                       "key log gave traffic secrets of %zu/%zu bytes, %s needs %zu",
                       keys.client_traffic().size(), keys.server_traffic().size(), suite->name,
                       suite->hash_len);
        d.client_secret = keys.client_traffic().clone();
        d.server_secret = keys.server_traffic().clone();
    } else {
        SecretBytes master(SSL_MAX_MASTER_KEY_LENGTH);
        size_t mlen = SSL_SESSION_get_master_key(session, master.data(), master.size());
        if (mlen != SSL_MAX_MASTER_KEY_LENGTH)
            return err(ErrorKind::internal, "master secret of %zu bytes (expected %d)", mlen,
                       SSL_MAX_MASTER_KEY_LENGTH);
        uint8_t client_random[kRandomLen];
        uint8_t server_random[kRandomLen];
        if (SSL_get_client_random(ssl, client_random, kRandomLen) != kRandomLen ||
            SSL_get_server_random(ssl, server_random, kRandomLen) != kRandomLen)
            return err(ErrorKind::internal, "SSL_get_client/server_random returned a short random");
        auto block = tls12_key_block(suite->digest, master.view(), server_random, client_random,
                                     2 * (suite->key_len + suite->iv_len));
        if (!block) return block.error();
        d.client_secret = writer_secret(*block, *suite, true);
        d.server_secret = writer_secret(*block, *suite, false);
    }

    uint8_t mfl = SSL_SESSION_get_max_fragment_length(session);
    if (mfl != TLSEXT_max_fragment_length_DISABLED) {
        if (mfl < TLSEXT_max_fragment_length_512 || mfl > TLSEXT_max_fragment_length_4096)
            return err(ErrorKind::internal, "unknown max_fragment_length mode %u", mfl);
        d.max_plaintext = static_cast<uint16_t>(512u << (mfl - 1));
    }

    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn && alpn_len > 0) d.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
        d.sni = sni;
        if (d.sni.size() > 255)
            return err(ErrorKind::protocol, "server name of %zu bytes", d.sni.size());
    }
    d.peer_identity = peer_identity(ssl);
    if (X509* peer = SSL_get0_peer_certificate(ssl)) {
        PeerNames names = peer_names(peer);
        d.peer_cn = names.cn.substr(0, ipc::kMaxPeerCn);
        d.peer_spki_sha256.assign(names.spki.begin(), names.spki.end());
        d.flags |= ipc::kHandoffPeerCert;
        if (SSL_get_verify_result(ssl) == X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE)
            d.flags |= ipc::kHandoffPeerVerified;
    }
    if (SSL_session_reused(ssl) == 1) d.flags |= ipc::kHandoffResumed;
    return d;
}

}  // namespace tlsward::cryptoproc
