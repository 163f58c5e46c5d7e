// PROXY protocol v1/v2: the encoder's bytes against the specification's
// layout, the TLS TLVs, and the parser on good, partial and hostile input.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "common/tls_suites.hpp"
#include "netproc/proxy_protocol.hpp"

using namespace tlsward;
using namespace tlsward::netproc;

namespace {

SocketAddress addr(const std::string& text) {
    auto a = parse_numeric_address(text);
    REQUIRE(a.ok());
    return a.value();
}

std::string text(const std::vector<uint8_t>& v) {
    return std::string(v.begin(), v.end());
}

const uint8_t kSig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

proxy::Header parsed(const std::vector<uint8_t>& bytes) {
    auto r = proxy::parse(bytes);
    INFO((r.ok() ? std::string() : r.message()));
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    return std::move(**r);
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
    auto r = proxy::parse(bytes);
    REQUIRE_FALSE(r.ok());
    return r.message();
}

bool incomplete(std::span<const uint8_t> bytes) {
    auto r = proxy::parse(bytes);
    return r.ok() && !r->has_value();
}

// The SSL TLV's value from a parsed v2 header.
const proxy::Tlv* find_tlv(const proxy::Header& h, uint8_t type) {
    for (const auto& t : h.tlvs)
        if (t.type == type) return &t;
    return nullptr;
}

}  // namespace

TEST_CASE("PROXY v1: TCP4, TCP6, mixed families and UNKNOWN", "[proxy]") {
    CHECK(text(proxy::encode_v1(addr("192.0.2.1:56324"), addr("198.51.100.1:443"))) ==
          "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n");
    CHECK(text(proxy::encode_v1(addr("[2001:db8::1]:1234"), addr("[::1]:8443"))) ==
          "PROXY TCP6 2001:db8::1 ::1 1234 8443\r\n");
    CHECK(text(proxy::encode_v1(addr("192.0.2.1:1"), addr("[::1]:2"))) ==
          "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n");
    CHECK(text(proxy::encode_v1(addr("unix:/run/x.sock"), addr("127.0.0.1:2"))) ==
          "PROXY UNKNOWN\r\n");
    // The longest possible header fits the specification's 107 bytes.
    auto longest = proxy::encode_v1(addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                                    addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
    CHECK(longest.size() == 104);
    CHECK(longest.size() <= proxy::kMaxV1Length);
}

TEST_CASE("PROXY v1: the parser reads back what the encoder writes", "[proxy]") {
    auto bytes = proxy::encode_v1(addr("192.0.2.1:56324"), addr("198.51.100.1:443"));
    std::string tail = "\x16\x03\x01";  // a ClientHello follows
    auto stream = bytes;
    stream.insert(stream.end(), tail.begin(), tail.end());
    proxy::Header h = parsed(stream);
    CHECK(h.version == ipc::ProxyVersion::v1);
    CHECK_FALSE(h.local);
    CHECK(h.length == bytes.size());
    CHECK(h.source.to_string() == "192.0.2.1:56324");
    CHECK(h.destination.to_string() == "198.51.100.1:443");

    proxy::Header h6 = parsed(proxy::encode_v1(addr("[2001:db8::1]:1234"), addr("[::1]:8443")));
    CHECK(h6.source.to_string() == "[2001:db8::1]:1234");

    std::string unknown = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
    proxy::Header u = parsed(std::vector<uint8_t>(unknown.begin(), unknown.end()));
    CHECK(u.local);
    CHECK(u.length == unknown.size());
}

TEST_CASE("PROXY v1: partial headers wait, malformed ones are refused", "[proxy]") {
    std::string full = "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n";
    for (size_t n = 0; n < full.size(); ++n) {
        CAPTURE(n);
        CHECK(incomplete(as_bytes(std::string_view(full).substr(0, n))));
    }
    auto bad = [](std::string s) { return parse_error(std::vector<uint8_t>(s.begin(), s.end())); };
    CHECK_THAT(bad("PROXY TCP4 192.0.2.1 198.51.100.1 56324\r\n"), Catch::Contains("malformed"));
    CHECK_THAT(bad("PROXY TCP4 ::1 198.51.100.1 1 2\r\n"), Catch::Contains("IPv4"));
    CHECK_THAT(bad("PROXY TCP6 192.0.2.1 ::1 1 2\r\n"), Catch::Contains("IPv6"));
    CHECK_THAT(bad("PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n"), Catch::Contains("port"));
    CHECK_THAT(bad("PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n"), Catch::Contains("port"));
    CHECK_THAT(bad("PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n"), Catch::Contains("malformed"));
    CHECK_THAT(bad("PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n"), Catch::Contains("malformed"));
    CHECK_THAT(bad("PROXY TCP4 " + std::string(120, '1')), Catch::Contains("107"));
    CHECK_THAT(bad("PROXY TCP4\x01"), Catch::Contains("control"));
    CHECK_THAT(bad("GET / HTTP/1.1\r\n"), Catch::Contains("does not start with"));
    CHECK_THAT(bad("\x16\x03\x01\x02\x00"), Catch::Contains("does not start with"));
}

TEST_CASE("PROXY v2: layout of an IPv4 header with the TLS TLVs", "[proxy]") {
    proxy::TlsInfo tls;
    tls.version = kTls13;
    tls.cipher_suite = 0x1301;
    tls.sni = "www.example.com";
    tls.alpn = "h2";
    tls.client_cn = "alice";
    tls.client_cert = true;
    tls.client_cert_this_connection = true;
    tls.client_verified = true;
    auto b = proxy::encode_v2(addr("192.0.2.1:56324"), addr("198.51.100.1:443"), &tls);
    REQUIRE(b.size() > 16 + 12);
    CHECK(std::memcmp(b.data(), kSig, 12) == 0);
    CHECK(b[12] == 0x21);  // version 2, PROXY
    CHECK(b[13] == 0x11);  // TCP over IPv4
    size_t len = static_cast<size_t>(b[14]) << 8 | b[15];
    CHECK(len == b.size() - 16);
    // Addresses and ports, network order.
    CHECK(std::vector<uint8_t>(b.begin() + 16, b.begin() + 28) ==
          std::vector<uint8_t>{192, 0, 2, 1, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb});
    // TLVs: ALPN, AUTHORITY, SSL{client, verify, VERSION, CN, CIPHER}.
    std::vector<uint8_t> expect;
    auto tlv = [&](uint8_t type, const std::string& v) {
        expect.push_back(type);
        expect.push_back(static_cast<uint8_t>(v.size() >> 8));
        expect.push_back(static_cast<uint8_t>(v.size()));
        expect.insert(expect.end(), v.begin(), v.end());
    };
    tlv(0x01, "h2");
    tlv(0x02, "www.example.com");
    std::vector<uint8_t> ssl = {0x07, 0, 0, 0, 0};  // SSL | CERT_CONN | CERT_SESS, verified
    auto sub = [&](uint8_t type, const std::string& v) {
        ssl.push_back(type);
        ssl.push_back(static_cast<uint8_t>(v.size() >> 8));
        ssl.push_back(static_cast<uint8_t>(v.size()));
        ssl.insert(ssl.end(), v.begin(), v.end());
    };
    sub(0x21, "TLSv1.3");
    sub(0x22, "alice");
    sub(0x23, "TLS_AES_128_GCM_SHA256");
    tlv(0x20, std::string(ssl.begin(), ssl.end()));
    CHECK(std::vector<uint8_t>(b.begin() + 28, b.end()) == expect);
}

TEST_CASE("PROXY v2: round trip through the parser, every family", "[proxy]") {
    proxy::TlsInfo tls;
    tls.version = kTls12;
    tls.cipher_suite = 0xC02B;
    tls.alpn = "http/1.1";
    tls.sni = "api.example";
    SECTION("IPv4 with TLVs") {
        auto b = proxy::encode_v2(addr("203.0.113.7:4242"), addr("127.0.0.1:8443"), &tls);
        b.push_back(0x16);  // the ClientHello that follows is not part of it
        proxy::Header h = parsed(b);
        CHECK(h.version == ipc::ProxyVersion::v2);
        CHECK(h.length == b.size() - 1);
        CHECK(h.source.to_string() == "203.0.113.7:4242");
        CHECK(h.destination.to_string() == "127.0.0.1:8443");
        CHECK(h.tlv_string(proxy::kTypeAlpn) == "http/1.1");
        CHECK(h.tlv_string(proxy::kTypeAuthority) == "api.example");
        const proxy::Tlv* ssl = find_tlv(h, proxy::kTypeSsl);
        REQUIRE(ssl != nullptr);
        CHECK(ssl->value[0] == proxy::kClientSsl);  // no client certificate
        CHECK(ssl->value[4] == 1);                  // verify: not zero without a certificate
    }
    SECTION("IPv6, and IPv4 mapped when the families differ") {
        proxy::Header h =
            parsed(proxy::encode_v2(addr("[2001:db8::7]:1"), addr("[::1]:2"), nullptr));
        CHECK(h.source.to_string() == "[2001:db8::7]:1");
        auto mixed = proxy::encode_v2(addr("192.0.2.1:1"), addr("[::1]:2"), nullptr);
        CHECK(mixed[13] == 0x21);
        CHECK(parsed(mixed).source.to_string() == "[::ffff:192.0.2.1]:1");
    }
    SECTION("Unix sockets") {
        auto b = proxy::encode_v2(addr("unix:/run/a.sock"), addr("unix:/run/b.sock"), nullptr);
        CHECK(b[13] == 0x31);
        CHECK(b.size() == 16 + 216);
        proxy::Header h = parsed(b);
        CHECK(h.source.to_string() == "unix:/run/a.sock");
        CHECK(h.destination.to_string() == "unix:/run/b.sock");
    }
    SECTION("LOCAL: no addresses") {
        auto b = proxy::encode_v2_local();
        CHECK(b.size() == 16);
        proxy::Header h = parsed(b);
        CHECK(h.local);
        CHECK(h.length == 16);
    }
    SECTION("tls_info from a hand-off") {
        ipc::HandshakeDone d;
        d.tls_version = kTls13;
        d.cipher_suite = 0x1302;
        d.sni = "a.example";
        d.alpn = "h2";
        d.peer_cn = "client-7";
        d.flags = ipc::kHandoffPeerCert | ipc::kHandoffPeerVerified | ipc::kHandoffResumed;
        proxy::TlsInfo t = proxy::tls_info(d);
        CHECK(t.client_cert);
        CHECK_FALSE(t.client_cert_this_connection);  // it came with the resumed session
        CHECK(t.client_verified);
        auto b = proxy::encode_v2(addr("192.0.2.1:1"), addr("192.0.2.2:2"), &t);
        proxy::Header h = parsed(b);
        const proxy::Tlv* ssl = find_tlv(h, proxy::kTypeSsl);
        REQUIRE(ssl != nullptr);
        CHECK(ssl->value[0] == (proxy::kClientSsl | proxy::kClientCertSess));
        CHECK(ssl->value[4] == 0);
    }
}

TEST_CASE("PROXY v2: partial headers wait, malformed ones are refused", "[proxy]") {
    auto good = proxy::encode_v2(addr("203.0.113.7:4242"), addr("127.0.0.1:8443"), nullptr);
    for (size_t n = 0; n < good.size(); ++n) {
        CAPTURE(n);
        CHECK(incomplete(std::span<const uint8_t>(good.data(), n)));
    }
    auto with = [&](size_t at, uint8_t v) {
        auto b = good;
        b[at] = v;
        return b;
    };
    CHECK_THAT(parse_error(with(12, 0x11)), Catch::Contains("version 1"));
    CHECK_THAT(parse_error(with(12, 0x22)), Catch::Contains("command 2"));
    CHECK_THAT(parse_error(with(13, 0x12)), Catch::Contains("stream"));
    CHECK_THAT(parse_error(with(13, 0x41)), Catch::Contains("family"));
    // A length beyond what netproc accepts is refused before it arrives.
    auto big = good;
    big.resize(16);
    big[14] = 0x10;
    big[15] = 0x01;
    CHECK_THAT(parse_error(big), Catch::Contains("at most"));
    // A body shorter than its addresses.
    std::vector<uint8_t> short_body(kSig, kSig + 12);
    short_body.insert(short_body.end(), {0x21, 0x21, 0x00, 0x0c});
    short_body.resize(16 + 12);
    CHECK_THAT(parse_error(short_body), Catch::Contains("shorter than its addresses"));
    // A TLV running past the end.
    auto tlv = good;
    tlv.insert(tlv.end(), {0x01, 0x00, 0x05, 'h'});
    tlv[15] = static_cast<uint8_t>(tlv.size() - 16);
    CHECK_THAT(parse_error(tlv), Catch::Contains("truncated TLV"));
}

TEST_CASE("PROXY v2: a CRC32C TLV is checked", "[proxy]") {
    CHECK(proxy::crc32c(as_bytes("123456789")) == 0xE3069283u);  // the check value
    auto b = proxy::encode_v2(addr("203.0.113.7:4242"), addr("127.0.0.1:8443"), nullptr);
    size_t crc_at = b.size() + 3;
    b.insert(b.end(), {proxy::kTypeCrc32c, 0x00, 0x04, 0, 0, 0, 0});
    size_t len = b.size() - 16;
    b[14] = static_cast<uint8_t>(len >> 8);
    b[15] = static_cast<uint8_t>(len);
    uint32_t crc = proxy::crc32c(b);
    for (int i = 0; i < 4; ++i) b[crc_at + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    proxy::Header h = parsed(b);
    CHECK(h.tlvs.size() == 1);
    b[17] ^= 1;  // a flipped address bit
    CHECK_THAT(parse_error(b), Catch::Contains("CRC32C"));
}
