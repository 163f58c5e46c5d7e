// What the signer agrees to sign (signer/sign_shape.cpp): every accepted
// shape, and each refusal.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ipc/messages.hpp"
#include "ipc/sign_messages.hpp"
#include "signer/rate_cap.hpp"
#include "signer/sign_shape.hpp"

using namespace tlsward;
using ipc::KeyAlgorithm;
using ipc::SignKind;

namespace {

std::vector<uint8_t> cv_input(const std::string& who, size_t hash_len) {
    std::vector<uint8_t> m(64, 0x20);
    std::string context = "TLS 1.3, " + who + " CertificateVerify";
    m.insert(m.end(), context.begin(), context.end());
    m.push_back(0);
    m.insert(m.end(), hash_len, 0xab);
    return m;
}

std::vector<uint8_t> ske_input(uint16_t group, size_t point_len, uint8_t curve_type = 3,
                               uint8_t first = 0x04) {
    std::vector<uint8_t> m(64, 0x5a);  // client random, server random
    m.push_back(curve_type);
    m.push_back(static_cast<uint8_t>(group >> 8));
    m.push_back(static_cast<uint8_t>(group));
    m.push_back(static_cast<uint8_t>(point_len));
    m.push_back(first);
    m.insert(m.end(), point_len - 1, 0x11);
    return m;
}

void message(std::vector<uint8_t>& out, uint8_t type, size_t len) {
    out.push_back(type);
    out.push_back(0);
    out.push_back(static_cast<uint8_t>(len >> 8));
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), len, 0x33);
}

std::vector<uint8_t> transcript(std::vector<uint8_t> types) {
    std::vector<uint8_t> m;
    for (uint8_t t : types) message(m, t, t == 14 ? 0 : 40);
    return m;
}

ipc::SignRequest request(SignKind kind, uint16_t scheme, std::vector<uint8_t> m) {
    ipc::SignRequest q;
    q.id = 1;
    q.key_id = 1;
    q.kind = kind;
    q.scheme = scheme;
    q.message = std::move(m);
    return q;
}

Status check(SignKind kind, uint16_t scheme, std::vector<uint8_t> m, KeyAlgorithm key,
             uint8_t kinds = ipc::kServerKinds | ipc::kClientKinds) {
    return signer::check_sign_request(request(kind, scheme, std::move(m)), key, kinds);
}

void refused(const Status& s, const std::string& why) {
    INFO("expected a refusal naming: " << why);
    REQUIRE_FALSE(s);
    CHECK(s.kind() == ErrorKind::protocol);
    INFO(s.message());
    CHECK(s.message().find(why) != std::string::npos);
}

}  // namespace

TEST_CASE("sign shape: every accepted shape", "[signer]") {
    // TLS 1.3 CertificateVerify, both transcript hashes, both roles.
    for (size_t h : {32u, 48u}) {
        CHECK(check(SignKind::tls13_server_certificate_verify, 0x0403, cv_input("server", h),
                    KeyAlgorithm::ec_p256));
        CHECK(check(SignKind::tls13_server_certificate_verify, 0x0503, cv_input("server", h),
                    KeyAlgorithm::ec_p384));
        CHECK(check(SignKind::tls13_server_certificate_verify, 0x0804, cv_input("server", h),
                    KeyAlgorithm::rsa));
        CHECK(check(SignKind::tls13_server_certificate_verify, 0x0806, cv_input("server", h),
                    KeyAlgorithm::rsa));
        CHECK(check(SignKind::tls13_server_certificate_verify, 0x0807, cv_input("server", h),
                    KeyAlgorithm::ed25519));
        CHECK(check(SignKind::tls13_client_certificate_verify, 0x0403, cv_input("client", h),
                    KeyAlgorithm::ec_p256));
    }
    // TLS 1.2 ServerKeyExchange: each offered group, PKCS#1, PSS, ECDSA with any hash.
    CHECK(check(SignKind::tls12_server_key_exchange, 0x0403, ske_input(29, 32, 3, 0x77),
                KeyAlgorithm::ec_p256));
    CHECK(check(SignKind::tls12_server_key_exchange, 0x0503, ske_input(23, 65),
                KeyAlgorithm::ec_p256));
    CHECK(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(24, 97), KeyAlgorithm::rsa));
    CHECK(check(SignKind::tls12_server_key_exchange, 0x0804, ske_input(23, 65), KeyAlgorithm::rsa));
    CHECK(check(SignKind::tls12_server_key_exchange, 0x0807, ske_input(29, 32),
                KeyAlgorithm::ed25519));
    // TLS 1.2 client transcript, with and without CertificateStatus.
    CHECK(check(SignKind::tls12_client_certificate_verify, 0x0401,
                transcript({1, 2, 11, 12, 13, 14, 11, 16}), KeyAlgorithm::rsa));
    CHECK(check(SignKind::tls12_client_certificate_verify, 0x0403,
                transcript({1, 2, 11, 22, 12, 13, 14, 11, 16}), KeyAlgorithm::ec_p256));
}

TEST_CASE("sign shape: each refusal", "[signer]") {
    SECTION("raw digest") {
        std::vector<uint8_t> digest(32, 0x42);
        refused(
            check(SignKind::tls13_server_certificate_verify, 0x0403, digest, KeyAlgorithm::ec_p256),
            "not a TLS 1.3 server CertificateVerify input");
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, digest, KeyAlgorithm::rsa),
                "not a TLS 1.2 ServerKeyExchange input");
        refused(check(SignKind::tls12_client_certificate_verify, 0x0401, digest, KeyAlgorithm::rsa),
                "TLS 1.2 client transcript");
    }
    SECTION("wrong context string") {
        refused(check(SignKind::tls13_server_certificate_verify, 0x0403, cv_input("client", 32),
                      KeyAlgorithm::ec_p256),
                "wrong context string");
        std::vector<uint8_t> m = cv_input("server", 32);
        m[3] = 0x21;
        refused(check(SignKind::tls13_server_certificate_verify, 0x0403, m, KeyAlgorithm::ec_p256),
                "the first 64 bytes are not 0x20");
        m = cv_input("server", 32);
        m[64 + 33] = 1;
        refused(check(SignKind::tls13_server_certificate_verify, 0x0403, m, KeyAlgorithm::ec_p256),
                "no 0x00 separator");
    }
    SECTION("wrong hash length") {
        for (size_t h : {0u, 20u, 31u, 33u, 64u})
            refused(check(SignKind::tls13_server_certificate_verify, 0x0804, cv_input("server", h),
                          KeyAlgorithm::rsa),
                    "CertificateVerify input");
    }
    SECTION("TLS 1.2 parameters") {
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(23, 65, 1),
                      KeyAlgorithm::rsa),
                "curve type 1 is not named_curve");
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(25, 133),
                      KeyAlgorithm::rsa),
                "group 25 is not one tlsward offers");
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(30, 56),
                      KeyAlgorithm::rsa),
                "group 30 is not one tlsward offers");
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(23, 64),
                      KeyAlgorithm::rsa),
                "a point of");
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(29, 33),
                      KeyAlgorithm::rsa),
                "a point of");
        std::vector<uint8_t> m = ske_input(23, 65);
        m.push_back(0);
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, m, KeyAlgorithm::rsa),
                "1 bytes after the point");
        refused(check(SignKind::tls12_server_key_exchange, 0x0401, ske_input(23, 65, 3, 0x02),
                      KeyAlgorithm::rsa),
                "not uncompressed");
    }
    SECTION("TLS 1.2 client transcript out of shape") {
        refused(check(SignKind::tls12_client_certificate_verify, 0x0401,
                      transcript({1, 2, 11, 12, 13, 14, 11}), KeyAlgorithm::rsa),
                "does not end with ClientKeyExchange");
        refused(check(SignKind::tls12_client_certificate_verify, 0x0401,
                      transcript({2, 1, 11, 12, 13, 14, 11, 16}), KeyAlgorithm::rsa),
                "out of place");
        refused(check(SignKind::tls12_client_certificate_verify, 0x0401,
                      transcript({1, 2, 11, 12, 13, 14, 11, 16, 15}), KeyAlgorithm::rsa),
                "out of place");
        std::vector<uint8_t> m = transcript({1, 2, 11, 12, 13, 14, 11, 16});
        m.pop_back();
        refused(check(SignKind::tls12_client_certificate_verify, 0x0401, m, KeyAlgorithm::rsa),
                "truncated");
    }
    SECTION("schemes and keys") {
        refused(check(SignKind::tls13_server_certificate_verify, 0x0401, cv_input("server", 32),
                      KeyAlgorithm::rsa),
                "not allowed in TLS 1.3");
        refused(check(SignKind::tls13_server_certificate_verify, 0x0503, cv_input("server", 32),
                      KeyAlgorithm::ec_p256),
                "does not name the key's curve");
        refused(check(SignKind::tls13_server_certificate_verify, 0x0804, cv_input("server", 32),
                      KeyAlgorithm::ec_p256),
                "does not fit");
        refused(check(SignKind::tls13_server_certificate_verify, 0x0807, cv_input("server", 32),
                      KeyAlgorithm::rsa),
                "does not fit");
        refused(check(SignKind::tls13_server_certificate_verify, 0x0201, cv_input("server", 32),
                      KeyAlgorithm::rsa),
                "unknown signature scheme 0x0201");
        // A server key signs no client input, and the other way round.
        refused(check(SignKind::tls13_client_certificate_verify, 0x0403, cv_input("client", 32),
                      KeyAlgorithm::ec_p256, ipc::kServerKinds),
                "does not sign tls13_client_certificate_verify");
        refused(check(SignKind::tls12_server_key_exchange, 0x0403, ske_input(23, 65),
                      KeyAlgorithm::ec_p256, ipc::kClientKinds),
                "does not sign tls12_server_key_exchange");
    }
    SECTION("oversize") {
        // The decoder refuses a message over the limit before any check.
        ipc::SignBatch batch;
        batch.requests.push_back(request(SignKind::tls12_client_certificate_verify, 0x0401,
                                         std::vector<uint8_t>(ipc::kMaxSignMessage + 1, 1)));
        CHECK_FALSE(ipc::decode_body<ipc::SignBatch>(ipc::encode_body(batch).value()));
        batch.requests[0].message.resize(ipc::kMaxSignMessage);
        CHECK(ipc::decode_body<ipc::SignBatch>(ipc::encode_body(batch).value()));
        refused(check(SignKind::tls12_client_certificate_verify, 0x0401,
                      std::vector<uint8_t>(ipc::kMaxSignMessage + 1, 1), KeyAlgorithm::rsa),
                "a message of");
    }
}

TEST_CASE("sign messages: batches round-trip and malformed ones are refused", "[signer]") {
    ipc::SignBatch batch;
    batch.requests.push_back(
        request(SignKind::tls13_server_certificate_verify, 0x0403, cv_input("server", 32)));
    batch.requests.push_back(
        request(SignKind::tls12_server_key_exchange, 0x0401, ske_input(29, 32)));
    batch.requests[1].id = 2;
    auto back = ipc::decode_body<ipc::SignBatch>(ipc::encode_body(batch).value());
    REQUIRE(back);
    REQUIRE(back->requests.size() == 2);
    CHECK(back->requests[1].kind == SignKind::tls12_server_key_exchange);
    CHECK(back->requests[1].message == batch.requests[1].message);
    CHECK(ipc::encoded_size(batch.requests[0]) + ipc::encoded_size(batch.requests[1]) + 2 ==
          ipc::encode_body(batch).value().size());

    SecureBytes bytes = ipc::encode_body(batch).value();
    bytes[2 + 16] = 9;  // the first request's kind
    CHECK_FALSE(ipc::decode_body<ipc::SignBatch>(bytes));
    CHECK_FALSE(ipc::decode_body<ipc::SignBatch>(ipc::encode_body(ipc::SignBatch{}).value()));

    ipc::SignAnswers answers;
    answers.answers.push_back(ipc::SignAnswer{1, ipc::SignStatus::ok, {1, 2, 3}});
    answers.answers.push_back(ipc::SignAnswer{2, ipc::SignStatus::unknown_key, {}});
    CHECK(ipc::decode_body<ipc::SignAnswers>(ipc::encode_body(answers).value()));
    answers.answers[1].signature = {1};  // a signature with a refusal
    CHECK_FALSE(ipc::decode_body<ipc::SignAnswers>(ipc::encode_body(answers).value()));

    ipc::SgKey key;
    key.key_id = 5;
    key.kinds = ipc::kServerKinds;
    key.key = SecretBytes(std::vector<uint8_t>{1, 2, 3});
    CHECK(ipc::decode_body<ipc::SgKey>(ipc::encode_body(key).value()));
    key.kinds = 1;  // bit 0 is no kind
    CHECK_FALSE(ipc::decode_body<ipc::SgKey>(ipc::encode_body(key).value()));
    CHECK(std::string(ipc::msg_type_name(ipc::MsgType::sg_sign)) == "SG_SIGN");
    CHECK(ipc::msg_type_fds(ipc::MsgType::sg_helper_channel) == 1);
}

TEST_CASE("rate cap: a burst, then the rate", "[signer]") {
    signer::RateCap cap(1000, 100, 0);
    CHECK(cap.take(0, 100));
    CHECK_FALSE(cap.take(0, 1));
    CHECK(cap.take(10, 10));  // 10 ms at 1000/s
    CHECK_FALSE(cap.take(10, 1));
    CHECK_FALSE(cap.take(20, 11));  // nothing taken when refused
    CHECK(cap.take(20, 10));
    CHECK(cap.take(10000, 100));  // never more than the burst
    CHECK_FALSE(cap.take(10000, 1));
}
