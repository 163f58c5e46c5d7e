// Test support for remote keys (cryptoproc/remote_key.hpp): keys of every
// type the signer holds, a TLS handshake between two SSLs over memory BIOs
// stepped by hand, and a reference signature made with the real key.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cryptoproc/openssl_ptr.hpp"
#include "cryptoproc/remote_key.hpp"
#include "cryptoproc/tls_context.hpp"
#include "test_cryptoproc_support.hpp"

namespace tlsward::rktest {

// A self-signed certificate (CN=localhost) for a new key: "RSA", "P-256",
// "P-384" or "ED25519".
const cptest::Credentials& credentials(const std::string& type);
cryptoproc::EvpPkeyPtr private_key(const cptest::Credentials& c);

// The signature the signer would make: the scheme's hash and padding over
// the whole message.
std::vector<uint8_t> reference_sign(EVP_PKEY* key, uint16_t scheme,
                                    std::span<const uint8_t> message);

// A service whose certificate's key is remote (key id, what it signs).
cryptoproc::ServiceSpec remote_server_spec(const cptest::Credentials& c, uint64_t key_id);
// A client-role service presenting a remote-key certificate, verifying
// servers of `server` (CN=localhost).
cryptoproc::ServiceSpec remote_client_spec(const cptest::Credentials& c, uint64_t key_id,
                                           const cptest::Credentials& server);

// An ordinary OpenSSL peer: a client that verifies `ca` (and presents
// `client_cert` if given), or a server with `cert` that requires a client
// certificate from `client_ca` if given.
cryptoproc::SslCtxPtr peer_client_ctx(const cptest::Credentials& ca, int max_version,
                                      const std::string& sigalgs = "",
                                      const cptest::Credentials* client_cert = nullptr);
cryptoproc::SslCtxPtr peer_server_ctx(const cptest::Credentials& cert, int max_version,
                                      const cptest::Credentials* client_ca);

// Two SSLs wired back to back through memory BIOs. `ours` is the one with
// the remote key; it is driven inside its RemoteSignSlot's scope.
class HandshakePair {
public:
    HandshakePair(SSL_CTX* ours, SSL_CTX* peer, bool ours_is_server);
    ~HandshakePair();

    // Moves bytes and steps both sides until neither can progress.
    void pump();
    bool done() const { return ours_done_ && peer_done_; }
    // SSL_get_error of our side's last step (SSL_ERROR_WANT_ASYNC while
    // its signature is out).
    int ours_error() const { return ours_error_; }
    bool failed() const { return failed_; }
    const std::string& failure() const { return failure_; }
    SSL* ours() { return ours_.get(); }
    SSL* peer() { return peer_.get(); }
    cryptoproc::RemoteSignSlot& slot() { return slot_; }
    int wakes() const { return wakes_; }
    // CPU time (this thread) spent in the peer's SSL_do_handshake calls.
    uint64_t peer_ns() const { return peer_ns_; }

private:
    bool step(SSL* ssl, bool is_ours, bool& done, int& error);
    static bool move(SSL* from, SSL* to);

    cryptoproc::SslPtr ours_;
    cryptoproc::SslPtr peer_;
    cryptoproc::RemoteSignSlot slot_;
    bool ours_done_ = false;
    bool peer_done_ = false;
    int ours_error_ = 0;
    int peer_error_ = 0;
    bool failed_ = false;
    std::string failure_;
    int wakes_ = 0;
    uint64_t peer_ns_ = 0;
};

}  // namespace tlsward::rktest
