// What the supervisor tells a crypto helper about a service's TLS beyond
// its certificates: client verification and allow-lists (server role),
// server verification (client role), SNI policy, ALPN, session tickets;
// the trust material (CA certificates, CRLs) and the shared ticket keys.
// All of it is policy the helper enforces; netproc never sees it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/secret.hpp"
#include "ipc/frame.hpp"

namespace tlsward::ipc {

// Client certificates in the server role.
enum class VerifyPeer : uint8_t { none = 0, optional = 1, require = 2 };
// A ClientHello naming a server name no certificate has.
enum class UnknownSni : uint8_t { use_default = 0, refuse = 1 };
// PROXY protocol header netproc writes to the target.
enum class ProxyVersion : uint8_t { none = 0, v1 = 1, v2 = 2 };

const char* verify_peer_name(VerifyPeer v);
const char* proxy_version_name(ProxyVersion v);

using Sha256 = std::array<uint8_t, 32>;

// Limits a decoder enforces (the supervisor checks the same when it loads
// the configuration, so a valid configuration always fits).
inline constexpr size_t kMaxListEntries = 1024;
inline constexpr size_t kMaxAlpnEntries = 16;
inline constexpr size_t kMaxNameLength = 253;

struct ServiceTls {
    // Server role.
    VerifyPeer verify_client = VerifyPeer::none;
    UnknownSni unknown_sni = UnknownSni::use_default;
    std::vector<std::string> allow_cn;   // subject CN, exact
    std::vector<std::string> allow_dns;  // DNS SAN, exact or "*.example.com"
    std::vector<std::string> allow_uri;  // URI SAN, exact or a prefix ending in '*'
    std::vector<Sha256> allow_spki;      // SHA-256 of the SubjectPublicKeyInfo
    bool session_tickets = true;
    uint32_t session_lifetime_s = 7200;
    // Client role.
    std::string server_name;       // SNI sent; empty: none (an IP target)
    std::string verify_name;       // DNS name or IP literal checked in the server certificate
    std::vector<Sha256> pin_spki;  // the server key must be one of these (when any)
    // Both: ALPN protocols, in order of preference.
    std::vector<std::string> alpn;

    bool operator==(const ServiceTls&) const = default;
};

void encode(ByteWriter& w, const ServiceTls& m);
bool decode(ByteReader& r, ServiceTls& m);

enum class TrustKind : uint8_t {
    client_ca = 1,  // server role: CAs that issue client certificates
    server_ca = 2,  // client role: CAs that issue the target's certificate
    crl = 3,        // server role: revocation lists for client certificates
};

// Part of one service's trust material: DER objects back to back (the
// supervisor splits a large store over several messages; the helper
// concatenates them in order until CP_CONFIG_DONE).
struct CpTrust {
    static constexpr MsgType kType = MsgType::cp_trust;
    uint32_t service_id = 0;
    TrustKind kind = TrustKind::client_ca;
    std::vector<uint8_t> der;
};

void encode(ByteWriter& w, const CpTrust& m);
bool decode(ByteReader& r, CpTrust& m);

// The session ticket master keys every helper shares (the supervisor
// generates and rotates them, or reads them from a key file). Each helper
// derives per-service keys from them, so a ticket only resumes on the
// service (and server name) that issued it. May come at any time; the
// latest replaces the earlier.
inline constexpr size_t kMaxTicketKeys = 16;
inline constexpr size_t kTicketKeyShort = 48;
inline constexpr size_t kTicketKeyLong = 80;

struct CpTicketKeys {
    static constexpr MsgType kType = MsgType::cp_ticket_keys;
    std::vector<SecretBytes> keys;  // each 48 or 80 bytes
    uint8_t encrypt_index = 0;      // the key new tickets are sealed with

    CpTicketKeys() = default;
    CpTicketKeys(CpTicketKeys&&) noexcept = default;
    CpTicketKeys& operator=(CpTicketKeys&&) noexcept = default;
    CpTicketKeys clone() const;
};

void encode(ByteWriter& w, const CpTicketKeys& m);
bool decode(ByteReader& r, CpTicketKeys& m);

// Shared string-list codec (u16 count, then u16-prefixed strings).
void put_string_list(ByteWriter& w, const std::vector<std::string>& v);
bool get_string_list(ByteReader& r, std::vector<std::string>& out, size_t max_entries,
                     size_t max_length);

}  // namespace tlsward::ipc
