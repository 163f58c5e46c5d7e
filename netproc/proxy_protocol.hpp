// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2):
//
// - an encoder for the header netproc writes to the target before any
//   data, so the backend sees the real client address; v2 carries the TLS
//   facts as TLVs: ALPN, AUTHORITY (the SNI), and SSL with the version, the
//   client certificate's CN and the cipher;
// - a bounded parser for the header a load balancer in front of tlsward
//   puts before the TLS ClientHello (accept_proxy), v1 or v2.
//
// Pure functions over bytes (no sockets), parsed through ByteReader only.
//
// How netproc uses them (one connection, server mode):
//   accept_proxy: peek at most kMaxHeader bytes (recv MSG_PEEK) until
//     parse() returns a header (nullopt: wait for more bytes; error: close
//     the connection), then consume exactly header.length bytes with recv,
//     so that the ClientHello stays in the socket for the helper. A LOCAL
//     header (health check) keeps the socket's own addresses.
//   proxy_protocol v1/v2: after the hand-off and the connect to the target,
//     send encode(version, client, local, &tls_info(handoff)) before any
//     plaintext, where client is the accepted peer (or the source of the
//     accepted PROXY header) and local is the address it connected to
//     (getsockname of the accepted socket, or the header's destination).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/result.hpp"
#include "ipc/handoff.hpp"
#include "ipc/tls_settings.hpp"

namespace tlsward::netproc::proxy {

// v2 TLV types and PP2_TYPE_SSL sub-types.
constexpr uint8_t kTypeAlpn = 0x01;
constexpr uint8_t kTypeAuthority = 0x02;
constexpr uint8_t kTypeCrc32c = 0x03;
constexpr uint8_t kTypeNoop = 0x04;
constexpr uint8_t kTypeUniqueId = 0x05;
constexpr uint8_t kTypeSsl = 0x20;
constexpr uint8_t kSubtypeSslVersion = 0x21;
constexpr uint8_t kSubtypeSslCn = 0x22;
constexpr uint8_t kSubtypeSslCipher = 0x23;
constexpr uint8_t kSubtypeSslSigAlg = 0x24;
constexpr uint8_t kSubtypeSslKeyAlg = 0x25;
constexpr uint8_t kTypeNetns = 0x30;
// PP2_TYPE_SSL client flags.
constexpr uint8_t kClientSsl = 0x01;
constexpr uint8_t kClientCertConn = 0x02;  // a certificate was presented on this connection
constexpr uint8_t kClientCertSess = 0x04;  // ... on this connection or the session it resumed

// The longest v1 header (CRLF included) and the longest header netproc
// accepts: the 16-byte v2 header and up to 4 KiB of addresses and TLVs.
constexpr size_t kMaxV1Length = 107;
constexpr size_t kMaxV2Body = 4096;
constexpr size_t kMaxHeader = 16 + kMaxV2Body;

// What the PP2_TYPE_SSL TLV tells the backend.
struct TlsInfo {
    uint16_t version = 0;       // kTls12 / kTls13
    uint16_t cipher_suite = 0;  // IANA id; sent as OpenSSL's name
    std::string sni;            // PP2_TYPE_AUTHORITY when not empty
    std::string alpn;           // PP2_TYPE_ALPN when not empty
    std::string client_cn;      // PP2_SUBTYPE_SSL_CN when not empty
    bool client_cert = false;   // a client certificate (this connection or its session)
    bool client_cert_this_connection = false;
    bool client_verified = false;  // ... and it verified
};
TlsInfo tls_info(const ipc::HandshakeDone& done);

// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"; "PROXY UNKNOWN\r\n"
// when the addresses are not both IP (a v4/v6 mix is sent as TCP6 with the
// IPv4 address mapped).
std::vector<uint8_t> encode_v1(const SocketAddress& source, const SocketAddress& destination);
// The binary header with the PROXY command; tls (may be null) adds the
// TLVs. Addresses that are not IP or Unix go as AF_UNSPEC.
std::vector<uint8_t> encode_v2(const SocketAddress& source, const SocketAddress& destination,
                               const TlsInfo* tls);
// The v2 LOCAL command (no addresses): a connection of tlsward's own.
std::vector<uint8_t> encode_v2_local();
// encode_v1 or encode_v2 by version; empty for ProxyVersion::none.
std::vector<uint8_t> encode(ipc::ProxyVersion version, const SocketAddress& source,
                            const SocketAddress& destination, const TlsInfo* tls);

struct Tlv {
    uint8_t type = 0;
    std::vector<uint8_t> value;
};

struct Header {
    ipc::ProxyVersion version = ipc::ProxyVersion::none;
    // LOCAL (v2) or UNKNOWN / AF_UNSPEC: no addresses; the connection's own
    // ones stand.
    bool local = false;
    SocketAddress source;
    SocketAddress destination;
    std::vector<Tlv> tlvs;  // v2 only, in order (a CRC32C, if any, was checked)
    size_t length = 0;      // bytes the header occupies at the start of the stream

    // The value of the first TLV of a type, empty if none.
    std::string tlv_string(uint8_t type) const;
};

// Parses a header at the start of `data` (what has arrived so far).
// nullopt: a valid prefix, more bytes needed (never more than kMaxHeader
// in all); an error: not a PROXY header or a malformed one.
Result<std::optional<Header>> parse(std::span<const uint8_t> data);

// CRC-32C (Castagnoli), as the PP2_TYPE_CRC32C TLV uses.
uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

}  // namespace tlsward::netproc::proxy
