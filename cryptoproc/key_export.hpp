// From a finished OpenSSL handshake to HANDSHAKE_DONE: the traffic secrets
// (TLS 1.3, from the key log) or the key block (TLS 1.2, by the PRF from
// the master secret), the sequence numbers, and what else netproc's record
// layer needs. The recipe: docs/internals.md, "The hand-off recipe".
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "ipc/handoff.hpp"

namespace tlsward::cryptoproc {

// Fetches the EVP objects key export uses (the TLS1-PRF KDF, the suite
// digests) and allocates the SSL ex-data slot of KeyCapture. Once per
// process, before the first handshake; later calls do nothing.
Status key_export_init();

// The TLS 1.3 application traffic secrets OpenSSL reports for one SSL
// through the key log callback. Other key log labels are ignored.
class KeyCapture {
public:
    KeyCapture() = default;
    KeyCapture(const KeyCapture&) = delete;
    KeyCapture& operator=(const KeyCapture&) = delete;

    // Routes the key log lines of ssl to this object (SSL ex data).
    Status attach(SSL* ssl);
    // Takes one key log line ("LABEL <client random> <secret>", hex).
    // client_random, when given, must match the line's.
    void on_line(std::string_view line, std::span<const uint8_t> client_random = {});

    const SecretBytes& client_traffic() const { return client_; }
    const SecretBytes& server_traffic() const { return server_; }
    // Set when a traffic secret line could not be parsed: export fails.
    bool malformed() const { return malformed_; }
    void wipe();

private:
    SecretBytes client_;
    SecretBytes server_;
    bool malformed_ = false;
};

// Installed on every SSL_CTX: finds the line's KeyCapture by SSL ex data.
// The line is parsed in place (no copy to wipe) and never logged.
void keylog_callback(const SSL* ssl, const char* line);

// Fills version, suite, secrets, sequence numbers, max_plaintext, ALPN, SNI
// and peer identity from a finished handshake. records_after_finished is
// the number of records this side wrote after its own Finished (counted by
// the message callback). conn_id, generation and leftover are the caller's.
Result<ipc::HandshakeDone> export_handshake(SSL* ssl, const KeyCapture& keys,
                                            uint64_t records_after_finished);

// TLS 1.2 key block: PRF(master, "key expansion", server_random ||
// client_random) with the suite's digest ("SHA256" / "SHA384").
Result<SecretBytes> tls12_key_block(const char* digest, std::span<const uint8_t> master,
                                    std::span<const uint8_t> server_random,
                                    std::span<const uint8_t> client_random, size_t length);

}  // namespace tlsward::cryptoproc
