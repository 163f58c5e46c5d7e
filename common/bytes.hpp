// Bounded readers and writers for every byte that crosses a boundary: IPC
// bodies, TLS records and handshake messages, PROXY headers. A read past
// the end fails (and latches the failure) instead of overrunning, in the
// spirit of BoringSSL's CBS/CBB and s2n's stuffer. Integers are big-endian,
// as on the wire in TLS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace tlsward {

class ByteReader {
public:
    ByteReader() = default;
    explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

    size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
    size_t position() const { return pos_; }
    bool empty() const { return remaining() == 0; }
    // True once any read has failed; later reads keep failing.
    bool failed() const { return failed_; }
    // A message is well formed only if it was read to its last byte.
    bool done() const { return !failed_ && pos_ == data_.size(); }

    bool u8(uint8_t& v) { return read_be(v, 1); }
    bool u16(uint16_t& v) { return read_be(v, 2); }
    bool u24(uint32_t& v) { return read_be(v, 3); }
    bool u32(uint32_t& v) { return read_be(v, 4); }
    bool u64(uint64_t& v) { return read_be(v, 8); }

    bool bytes(size_t n, std::span<const uint8_t>& out) {
        if (!need(n)) return false;
        out = data_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    bool copy(void* dst, size_t n) {
        std::span<const uint8_t> s;
        if (!bytes(n, s)) return false;
        if (n != 0) std::memcpy(dst, s.data(), n);
        return true;
    }
    bool skip(size_t n) {
        std::span<const uint8_t> s;
        return bytes(n, s);
    }
    // A sub-reader over the next n bytes (for length-prefixed structures).
    bool sub(size_t n, ByteReader& out) {
        std::span<const uint8_t> s;
        if (!bytes(n, s)) return false;
        out = ByteReader(s);
        return true;
    }
    bool u8_prefixed(ByteReader& out) {
        uint8_t n = 0;
        return u8(n) && sub(n, out);
    }
    bool u16_prefixed(ByteReader& out) {
        uint16_t n = 0;
        return u16(n) && sub(n, out);
    }
    bool u32_prefixed(ByteReader& out) {
        uint32_t n = 0;
        return u32(n) && sub(n, out);
    }
    std::span<const uint8_t> rest() const {
        return failed_ ? std::span<const uint8_t>() : data_.subspan(pos_);
    }

private:
    bool need(size_t n) {
        if (failed_ || data_.size() - pos_ < n) {
            failed_ = true;
            return false;
        }
        return true;
    }
    template <class T>
    bool read_be(T& v, size_t n) {
        if (!need(n)) return false;
        uint64_t x = 0;
        for (size_t i = 0; i < n; ++i) x = (x << 8) | data_[pos_ + i];
        pos_ += n;
        v = static_cast<T>(x);
        return true;
    }

    std::span<const uint8_t> data_;
    size_t pos_ = 0;
    bool failed_ = false;
};

// Writes big-endian integers and length-prefixed fields. Like BoringSSL's
// CBB it never writes something other than what it was given: a value
// that does not fit its field (300 in a u8, a length of 70000 under a u16
// prefix, a begin_length() body too long for its width) sets a sticky
// failure, and from then on nothing more is written. The producer checks
// ok() once, after the last field (ipc::encode_body does), and sends
// nothing if it is false. It writes into SecureBytes, so what it encodes
// (IPC bodies with keys and traffic secrets among them) leaves no copy
// behind when the buffer grows or goes.
class ByteWriter {
public:
    ByteWriter() = default;
    explicit ByteWriter(SecureBytes& out) : out_(&out) {}

    // False once any write has failed; what the buffer holds is then
    // garbage, to be thrown away.
    bool ok() const { return !failed_; }
    // Fails the encoding on a bound of the caller's own (a string field
    // shorter than its prefix allows, a list with a maximum count).
    void fail() { failed_ = true; }

    // Each takes any unsigned value and fails unless it fits the field.
    void u8(uint64_t v) { put_be(v, 1); }
    void u16(uint64_t v) { put_be(v, 2); }
    void u24(uint64_t v) { put_be(v, 3); }
    void u32(uint64_t v) { put_be(v, 4); }
    void u64(uint64_t v) { put_be(v, 8); }
    void bytes(std::span<const uint8_t> s) {
        if (!failed_) out().insert(out().end(), s.begin(), s.end());
    }
    void bytes(std::string_view s) { bytes(as_span(s)); }
    void zeros(size_t n) {
        if (!failed_) out().insert(out().end(), n, 0);
    }

    // Length-prefixed fields: the prefix must hold the length.
    void u8_string(std::string_view s) { u8_bytes(as_span(s)); }
    void u8_bytes(std::span<const uint8_t> s) {
        u8(s.size());
        bytes(s);
    }
    void u16_bytes(std::span<const uint8_t> s) {
        u16(s.size());
        bytes(s);
    }
    void u16_string(std::string_view s) { u16_bytes(as_span(s)); }
    void u32_bytes(std::span<const uint8_t> s) {
        u32(s.size());
        bytes(s);
    }

    // Reserves a length field of `width` bytes (1 to 4) to be filled in by
    // end_length() once the body is written; a body too long for it fails.
    size_t begin_length(size_t width) {
        size_t at = out().size();
        zeros(width);
        return at;
    }
    void end_length(size_t at, size_t width) {
        if (failed_) return;
        size_t n = out().size() - at - width;
        if (!fits(n, width)) {
            failed_ = true;
            return;
        }
        for (size_t i = 0; i < width; ++i)
            out()[at + i] = static_cast<uint8_t>(n >> (8 * (width - 1 - i)));
    }

    size_t size() const { return out_ ? out_->size() : own_.size(); }
    SecureBytes& buffer() { return out(); }
    SecureBytes take() { return std::move(out()); }

private:
    static std::span<const uint8_t> as_span(std::string_view s) {
        return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
    }
    static bool fits(uint64_t v, size_t width) { return width >= 8 || (v >> (8 * width)) == 0; }
    SecureBytes& out() { return out_ ? *out_ : own_; }
    void put_be(uint64_t v, size_t n) {
        if (failed_) return;
        if (!fits(v, n)) {
            failed_ = true;
            return;
        }
        for (size_t i = 0; i < n; ++i)
            out().push_back(static_cast<uint8_t>(v >> (8 * (n - 1 - i))));
    }

    SecureBytes own_;
    SecureBytes* out_ = nullptr;
    bool failed_ = false;
};

inline std::string_view as_string_view(std::span<const uint8_t> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}
inline std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace tlsward
