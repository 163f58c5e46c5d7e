// Key material: wiped on destruction and on reassignment, never copied
// implicitly, never printable (no operator<<, no conversion to string).
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace tlsward {

// An allocator that wipes every block it frees. A std::vector on it may
// grow (each reallocation frees the old block wiped) and needs no care
// when it goes: for the buffers secrets pass through on their way (IPC
// encodings, received messages, send queues). SecretBytes below is for
// holding a secret itself.
template <class T>
struct WipingAllocator {
    using value_type = T;

    WipingAllocator() = default;
    template <class U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

    T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, size_t n) noexcept {
        OPENSSL_cleanse(p, n * sizeof(T));
        std::allocator<T>().deallocate(p, n);
    }
    template <class U>
    bool operator==(const WipingAllocator<U>&) const noexcept {
        return true;
    }
};

// Bytes wiped whenever their memory is freed, however often they grew.
using SecureBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;

class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(size_t n) : b_(n, 0) {}
    SecretBytes(const uint8_t* p, size_t n) : b_(p, p + n) {}
    explicit SecretBytes(std::span<const uint8_t> s) : b_(s.begin(), s.end()) {}
    ~SecretBytes() { wipe(); }
    SecretBytes(SecretBytes&& o) noexcept : b_(std::move(o.b_)) { o.b_.clear(); }
    SecretBytes& operator=(SecretBytes&& o) noexcept {
        if (this != &o) {
            wipe();
            b_ = std::move(o.b_);
            o.b_.clear();
        }
        return *this;
    }
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;

    // An explicit copy, for the rare place that needs two (a test vector).
    SecretBytes clone() const { return SecretBytes(std::span<const uint8_t>(b_)); }

    uint8_t* data() { return b_.data(); }
    const uint8_t* data() const { return b_.data(); }
    size_t size() const { return b_.size(); }
    bool empty() const { return b_.empty(); }
    std::span<const uint8_t> view() const { return b_; }
    std::span<uint8_t> span() { return b_; }

    void wipe() {
        if (!b_.empty()) OPENSSL_cleanse(b_.data(), b_.size());
        b_.clear();
    }

private:
    // vector growth would leave unwiped copies; SecretBytes is sized once.
    std::vector<uint8_t> b_;
};

// Compares two byte strings in time independent of where they differ.
inline bool secret_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tlsward
