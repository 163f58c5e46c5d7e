#include "netproc/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "common/bytes.hpp"
#include "common/tls_suites.hpp"

namespace tlsward::netproc::proxy {

namespace {

constexpr uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr uint8_t kVersion2 = 0x20;
constexpr uint8_t kCommandLocal = 0x00;
constexpr uint8_t kCommandProxy = 0x01;
// Family (high nibble) and transport (low nibble).
constexpr uint8_t kFamilyUnspec = 0x00;
constexpr uint8_t kFamilyInet = 0x10;
constexpr uint8_t kFamilyInet6 = 0x20;
constexpr uint8_t kFamilyUnix = 0x30;
constexpr uint8_t kTransportStream = 0x01;
constexpr size_t kAddrInet = 12;
constexpr size_t kAddrInet6 = 36;
constexpr size_t kAddrUnix = 216;
constexpr size_t kUnixPath = 108;

const sockaddr_in* in4(const SocketAddress& a) {
    return reinterpret_cast<const sockaddr_in*>(&a.storage);
}
const sockaddr_in6* in6(const SocketAddress& a) {
    return reinterpret_cast<const sockaddr_in6*>(&a.storage);
}

bool is_ip(const SocketAddress& a) {
    return a.family() == AF_INET || a.family() == AF_INET6;
}

// The 16 bytes of an IP address as IPv6 (IPv4 mapped to ::ffff:a.b.c.d).
std::array<uint8_t, 16> as_v6(const SocketAddress& a) {
    std::array<uint8_t, 16> out{};
    if (a.family() == AF_INET6) {
        std::memcpy(out.data(), &in6(a)->sin6_addr, 16);
    } else {
        out[10] = 0xff;
        out[11] = 0xff;
        std::memcpy(out.data() + 12, &in4(a)->sin_addr, 4);
    }
    return out;
}

SocketAddress make_v4(std::span<const uint8_t> addr, uint16_t port) {
    SocketAddress a;
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, addr.data(), 4);
    sin->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
    return a;
}

SocketAddress make_v6(std::span<const uint8_t> addr, uint16_t port) {
    SocketAddress a;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, addr.data(), 16);
    sin6->sin6_port = htons(port);
    a.length = sizeof(sockaddr_in6);
    return a;
}

SocketAddress make_unix(std::span<const uint8_t> path) {
    SocketAddress a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
    un->sun_family = AF_UNIX;
    size_t n = 0;
    while (n < path.size() && n + 1 < sizeof un->sun_path && path[n] != 0) ++n;
    std::memcpy(un->sun_path, path.data(), n);
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + 1);
    return a;
}

std::string ip_text(const SocketAddress& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.family() == AF_INET)
        inet_ntop(AF_INET, &in4(a)->sin_addr, buf, sizeof buf);
    else
        inet_ntop(AF_INET6, &in6(a)->sin6_addr, buf, sizeof buf);
    return buf;
}

void put_tlv(ByteWriter& w, uint8_t type, std::span<const uint8_t> value) {
    w.u8(type);
    w.u16_bytes(value);
}

void put_tlv(ByteWriter& w, uint8_t type, std::string_view value) {
    put_tlv(w, type, as_bytes(value));
}

const std::array<uint32_t, 256>& crc_table() {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    return table;
}

// --- v1 ----------------------------------------------------------------------

bool parse_port(std::string_view s, uint16_t& out) {
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
    uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v > 65535) return false;
    out = static_cast<uint16_t>(v);
    return true;
}

Result<std::optional<Header>> parse_v1(std::span<const uint8_t> data) {
    std::string_view text = as_string_view(data.subspan(0, std::min(data.size(), kMaxV1Length)));
    size_t crlf = text.find("\r\n");
    if (crlf == std::string_view::npos) {
        if (data.size() >= kMaxV1Length)
            return err(ErrorKind::protocol, "PROXY v1 header without CRLF in 107 bytes");
        for (char c : text)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\r')
                return err(ErrorKind::protocol, "PROXY v1 header with a control character");
        return std::optional<Header>();
    }
    std::string_view line = text.substr(0, crlf);
    std::vector<std::string_view> fields;
    while (true) {
        size_t sp = line.find(' ');
        fields.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) break;
        line.remove_prefix(sp + 1);
    }
    Header h;
    h.version = ipc::ProxyVersion::v1;
    h.length = crlf + 2;
    if (fields.size() >= 2 && fields[1] == "UNKNOWN") {
        h.local = true;
        return std::optional<Header>(std::move(h));
    }
    if (fields.size() != 6 || (fields[1] != "TCP4" && fields[1] != "TCP6"))
        return err(ErrorKind::protocol,
                   "malformed PROXY v1 header (expected TCP4, TCP6 or UNKNOWN and four fields)");
    bool v6 = fields[1] == "TCP6";
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport = 0;
    uint16_t dport = 0;
    std::string s(fields[2]);
    std::string d(fields[3]);
    int af = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(af, s.c_str(), src) != 1 || inet_pton(af, d.c_str(), dst) != 1)
        return err(ErrorKind::protocol, "PROXY v1 header with an address that is not %s",
                   v6 ? "IPv6" : "IPv4");
    if (!parse_port(fields[4], sport) || !parse_port(fields[5], dport))
        return err(ErrorKind::protocol, "PROXY v1 header with a malformed port");
    h.source = v6 ? make_v6(src, sport) : make_v4(std::span<const uint8_t>(src, 4), sport);
    h.destination = v6 ? make_v6(dst, dport) : make_v4(std::span<const uint8_t>(dst, 4), dport);
    return std::optional<Header>(std::move(h));
}

// --- v2 ----------------------------------------------------------------------

Result<std::optional<Header>> parse_v2(std::span<const uint8_t> data) {
    if (data.size() < 16) return std::optional<Header>();
    ByteReader r(data);
    r.skip(sizeof kSignature);
    uint8_t ver_cmd = 0;
    uint8_t fam = 0;
    uint16_t len = 0;
    r.u8(ver_cmd);
    r.u8(fam);
    r.u16(len);
    if ((ver_cmd & 0xf0) != kVersion2)
        return err(ErrorKind::protocol, "PROXY header of version %u", ver_cmd >> 4);
    uint8_t command = ver_cmd & 0x0f;
    if (command != kCommandLocal && command != kCommandProxy)
        return err(ErrorKind::protocol, "PROXY v2 header with command %u", command);
    if (len > kMaxV2Body)
        return err(ErrorKind::protocol, "PROXY v2 header of %u bytes (at most %zu)", len,
                   kMaxV2Body);
    if (data.size() < 16u + len) return std::optional<Header>();
    ByteReader body;
    r.sub(len, body);

    Header h;
    h.version = ipc::ProxyVersion::v2;
    h.length = 16u + len;
    uint8_t family = fam & 0xf0;
    uint8_t transport = fam & 0x0f;
    size_t addr_len = family == kFamilyInet    ? kAddrInet
                      : family == kFamilyInet6 ? kAddrInet6
                      : family == kFamilyUnix  ? kAddrUnix
                                               : 0;
    if (family != kFamilyUnspec && family != kFamilyInet && family != kFamilyInet6 &&
        family != kFamilyUnix)
        return err(ErrorKind::protocol, "PROXY v2 header with address family 0x%x", family >> 4);
    if (command == kCommandProxy && family != kFamilyUnspec && transport != kTransportStream)
        return err(ErrorKind::protocol,
                   "PROXY v2 header for a transport other than a stream (0x%x)", transport);
    if (body.remaining() < addr_len)
        return err(ErrorKind::protocol, "PROXY v2 header shorter than its addresses");
    ByteReader addr;
    body.sub(addr_len, addr);
    if (command == kCommandLocal || family == kFamilyUnspec) {
        h.local = true;
    } else if (family == kFamilyInet) {
        std::span<const uint8_t> src, dst;
        uint16_t sport = 0, dport = 0;
        addr.bytes(4, src);
        addr.bytes(4, dst);
        addr.u16(sport);
        addr.u16(dport);
        h.source = make_v4(src, sport);
        h.destination = make_v4(dst, dport);
    } else if (family == kFamilyInet6) {
        std::span<const uint8_t> src, dst;
        uint16_t sport = 0, dport = 0;
        addr.bytes(16, src);
        addr.bytes(16, dst);
        addr.u16(sport);
        addr.u16(dport);
        h.source = make_v6(src, sport);
        h.destination = make_v6(dst, dport);
    } else {
        std::span<const uint8_t> src, dst;
        addr.bytes(kUnixPath, src);
        addr.bytes(kUnixPath, dst);
        h.source = make_unix(src);
        h.destination = make_unix(dst);
    }
    std::optional<size_t> crc_at;
    uint32_t crc_value = 0;
    while (!body.empty()) {
        uint8_t type = 0;
        ByteReader value;
        size_t at = 16 + len - body.remaining();
        if (!body.u8(type) || !body.u16_prefixed(value))
            return err(ErrorKind::protocol, "PROXY v2 header with a truncated TLV at byte %zu", at);
        auto v = value.rest();
        if (type == kTypeCrc32c) {
            if (v.size() != 4 || crc_at)
                return err(ErrorKind::protocol, "PROXY v2 header with a malformed CRC32C TLV");
            crc_at = at + 3;
            crc_value = static_cast<uint32_t>(v[0]) << 24 | static_cast<uint32_t>(v[1]) << 16 |
                        static_cast<uint32_t>(v[2]) << 8 | v[3];
        }
        h.tlvs.push_back(Tlv{type, std::vector<uint8_t>(v.begin(), v.end())});
    }
    if (crc_at) {
        std::vector<uint8_t> copy(data.begin(), data.begin() + static_cast<long>(h.length));
        std::memset(copy.data() + *crc_at, 0, 4);
        if (crc32c(copy) != crc_value)
            return err(ErrorKind::protocol, "PROXY v2 header with a wrong CRC32C");
    }
    return std::optional<Header>(std::move(h));
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) {
    const auto& t = crc_table();
    crc = ~crc;
    for (uint8_t b : data) crc = t[(crc ^ b) & 0xff] ^ (crc >> 8);
    return ~crc;
}

TlsInfo tls_info(const ipc::HandshakeDone& done) {
    TlsInfo t;
    t.version = done.tls_version;
    t.cipher_suite = done.cipher_suite;
    t.sni = done.sni;
    t.alpn = done.alpn;
    t.client_cn = done.peer_cn;
    bool resumed = (done.flags & ipc::kHandoffResumed) != 0;
    t.client_cert = (done.flags & ipc::kHandoffPeerCert) != 0;
    t.client_cert_this_connection = t.client_cert && !resumed;
    t.client_verified = t.client_cert && (done.flags & ipc::kHandoffPeerVerified) != 0;
    return t;
}

std::vector<uint8_t> encode_v1(const SocketAddress& source, const SocketAddress& destination) {
    std::string line;
    if (!is_ip(source) || !is_ip(destination)) {
        line = "PROXY UNKNOWN\r\n";
    } else if (source.family() == AF_INET && destination.family() == AF_INET) {
        line = strfmt("PROXY TCP4 %s %s %u %u\r\n", ip_text(source).c_str(),
                      ip_text(destination).c_str(), source.port(), destination.port());
    } else {
        auto text6 = [](const SocketAddress& a) {
            if (a.family() == AF_INET6) return ip_text(a);
            return "::ffff:" + ip_text(a);
        };
        line = strfmt("PROXY TCP6 %s %s %u %u\r\n", text6(source).c_str(),
                      text6(destination).c_str(), source.port(), destination.port());
    }
    return std::vector<uint8_t>(line.begin(), line.end());
}

std::vector<uint8_t> encode_v2(const SocketAddress& source, const SocketAddress& destination,
                               const TlsInfo* tls) {
    SecureBytes out;
    ByteWriter w(out);
    w.bytes(std::span<const uint8_t>(kSignature, sizeof kSignature));
    w.u8(kVersion2 | kCommandProxy);
    bool both_ip = is_ip(source) && is_ip(destination);
    bool v4 = source.family() == AF_INET && destination.family() == AF_INET;
    bool unix_both = source.family() == AF_UNIX && destination.family() == AF_UNIX;
    uint8_t family = !both_ip ? (unix_both ? kFamilyUnix : kFamilyUnspec)
                     : v4     ? kFamilyInet
                              : kFamilyInet6;
    w.u8(family | (family == kFamilyUnspec ? 0 : kTransportStream));
    size_t len_at = w.begin_length(2);
    if (family == kFamilyInet) {
        w.bytes(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&in4(source)->sin_addr), 4));
        w.bytes(std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(&in4(destination)->sin_addr), 4));
        w.u16(source.port());
        w.u16(destination.port());
    } else if (family == kFamilyInet6) {
        w.bytes(as_v6(source));
        w.bytes(as_v6(destination));
        w.u16(source.port());
        w.u16(destination.port());
    } else if (family == kFamilyUnix) {
        for (const SocketAddress* a : {&source, &destination}) {
            const auto* un = reinterpret_cast<const sockaddr_un*>(&a->storage);
            uint8_t path[kUnixPath] = {};
            std::memcpy(path, un->sun_path, std::min(sizeof path, sizeof un->sun_path));
            w.bytes(std::span<const uint8_t>(path, sizeof path));
        }
    }
    if (tls) {
        if (!tls->alpn.empty()) put_tlv(w, kTypeAlpn, tls->alpn);
        if (!tls->sni.empty()) put_tlv(w, kTypeAuthority, tls->sni);
        w.u8(kTypeSsl);
        size_t ssl_at = w.begin_length(2);
        uint8_t client = kClientSsl;
        if (tls->client_cert) client |= kClientCertSess;
        if (tls->client_cert_this_connection) client |= kClientCertConn;
        w.u8(client);
        w.u32(tls->client_verified ? 0 : 1);
        put_tlv(w, kSubtypeSslVersion, tls->version == kTls13 ? "TLSv1.3" : "TLSv1.2");
        if (!tls->client_cn.empty()) put_tlv(w, kSubtypeSslCn, tls->client_cn);
        if (const SuiteInfo* s = find_suite(tls->cipher_suite))
            put_tlv(w, kSubtypeSslCipher, std::string_view(s->openssl));
        w.end_length(ssl_at, 2);
    }
    w.end_length(len_at, 2);
    // Cannot fail: the TLVs hold what the hand-off's decoder bounded (ALPN
    // and SNI under u8 prefixes, the CN at ipc::kMaxPeerCn), far below the
    // 16-bit lengths.
    return std::vector<uint8_t>(out.begin(), out.end());
}

std::vector<uint8_t> encode_v2_local() {
    std::vector<uint8_t> out(kSignature, kSignature + sizeof kSignature);
    out.push_back(kVersion2 | kCommandLocal);
    out.push_back(kFamilyUnspec);
    out.push_back(0);
    out.push_back(0);
    return out;
}

std::vector<uint8_t> encode(ipc::ProxyVersion version, const SocketAddress& source,
                            const SocketAddress& destination, const TlsInfo* tls) {
    switch (version) {
        case ipc::ProxyVersion::v1:
            return encode_v1(source, destination);
        case ipc::ProxyVersion::v2:
            return encode_v2(source, destination, tls);
        case ipc::ProxyVersion::none:
            break;
    }
    return {};
}

std::string Header::tlv_string(uint8_t type) const {
    for (const Tlv& t : tlvs)
        if (t.type == type) return std::string(t.value.begin(), t.value.end());
    return {};
}

Result<std::optional<Header>> parse(std::span<const uint8_t> data) {
    if (data.empty()) return std::optional<Header>();
    // Which version: a complete or partial signature of either.
    size_t n2 = std::min(data.size(), sizeof kSignature);
    if (std::memcmp(data.data(), kSignature, n2) == 0) {
        if (data.size() < sizeof kSignature) return std::optional<Header>();
        return parse_v2(data);
    }
    size_t n1 = std::min(data.size(), kV1Prefix.size());
    if (std::memcmp(data.data(), kV1Prefix.data(), n1) == 0) {
        if (data.size() < kV1Prefix.size()) return std::optional<Header>();
        return parse_v1(data);
    }
    return err(ErrorKind::protocol, "the connection does not start with a PROXY protocol header");
}

}  // namespace tlsward::netproc::proxy
