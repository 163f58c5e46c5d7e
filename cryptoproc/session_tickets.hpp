// Session tickets (TLS 1.3 and TLS 1.2) sealed with keys every helper
// shares: the supervisor sends master keys (generated and rotated, or read
// from a key file shared by several machines); each helper derives, per
// service and certificate group, the key name, HMAC key and AES key with
// HKDF over the master key and the group's session id context. A ticket
// from another service or server name therefore names no key here and is
// not even decrypted (and OpenSSL would also refuse its session id
// context). The newest master key (the one the supervisor marks) seals,
// every listed one opens.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "ipc/tls_settings.hpp"

namespace tlsward::cryptoproc {

// Fetches HKDF and AES-256-CBC once (called from key_export_init).
Status session_tickets_init();

struct DerivedTicketKey {
    std::array<uint8_t, 16> name{};
    SecretBytes hmac;  // 32 bytes, HMAC-SHA256
    SecretBytes aes;   // 32 bytes, AES-256-CBC
};

class TicketKeys {
public:
    // Derives every group's keys. contexts: one session id context per
    // certificate group (ServiceContext::contexts).
    Status derive(const ipc::CpTicketKeys& master, const std::vector<ipc::Sha256>& contexts);
    bool empty() const { return rings_.empty(); }
    const DerivedTicketKey* sealing_key(size_t group) const;
    // The key of that name in the group's ring; *current: it is the
    // sealing key (else the ticket is renewed in TLS 1.2).
    const DerivedTicketKey* find(size_t group, const uint8_t name[16], bool* current) const;

private:
    std::vector<std::vector<DerivedTicketKey>> rings_;  // per group, per master key
    size_t sealing_ = 0;
};

// Installs the ticket key callback and the decrypted-ticket policy check on
// a server SSL_CTX (the ServiceContext is the SSL_CTX's app data).
Status install_ticket_callbacks(SSL_CTX* ctx);

}  // namespace tlsward::cryptoproc
