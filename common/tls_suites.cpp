#include "common/tls_suites.hpp"

#include <iterator>

namespace tlsward {

namespace {

constexpr SuiteInfo kSuites[] = {
    {0x1301, kTls13, Aead::aes128_gcm, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "SHA256",
     32, 16, 12},
    {0x1302, kTls13, Aead::aes256_gcm, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", "SHA384",
     48, 32, 12},
    {0x1303, kTls13, Aead::chacha20_poly1305, "TLS_CHACHA20_POLY1305_SHA256",
     "TLS_CHACHA20_POLY1305_SHA256", "SHA256", 32, 32, 12},
    {0xC02B, kTls12, Aead::aes128_gcm, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
     "ECDHE-ECDSA-AES128-GCM-SHA256", "SHA256", 32, 16, 4},
    {0xC02C, kTls12, Aead::aes256_gcm, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
     "ECDHE-ECDSA-AES256-GCM-SHA384", "SHA384", 48, 32, 4},
    {0xC02F, kTls12, Aead::aes128_gcm, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
     "ECDHE-RSA-AES128-GCM-SHA256", "SHA256", 32, 16, 4},
    {0xC030, kTls12, Aead::aes256_gcm, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     "ECDHE-RSA-AES256-GCM-SHA384", "SHA384", 48, 32, 4},
    {0xCCA9, kTls12, Aead::chacha20_poly1305, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
     "ECDHE-ECDSA-CHACHA20-POLY1305", "SHA256", 32, 32, 12},
    {0xCCA8, kTls12, Aead::chacha20_poly1305, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     "ECDHE-RSA-CHACHA20-POLY1305", "SHA256", 32, 32, 12},
};

}  // namespace

const SuiteInfo* find_suite(uint16_t id) {
    for (const auto& s : kSuites)
        if (s.id == id) return &s;
    return nullptr;
}

std::span<const SuiteInfo> all_suites() {
    return kSuites;
}

const char* tls_version_name(uint16_t version) {
    return version == kTls13 ? "TLSv1.3" : version == kTls12 ? "TLSv1.2" : "?";
}

const char* aead_name(Aead a) {
    switch (a) {
        case Aead::aes128_gcm:
            return "AES-128-GCM";
        case Aead::aes256_gcm:
            return "AES-256-GCM";
        case Aead::chacha20_poly1305:
            return "ChaCha20-Poly1305";
    }
    return "?";
}

uint8_t aead_bit(Aead a) {
    switch (a) {
        case Aead::aes128_gcm:
            return 1;
        case Aead::aes256_gcm:
            return 2;
        case Aead::chacha20_poly1305:
            return 4;
    }
    return 0;
}

}  // namespace tlsward
