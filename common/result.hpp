// Errors are values. Every fallible function in tlsward returns Result<T>
// (or Status) carrying a message that names what failed and where; nothing
// throws across an event-loop callback or a process boundary.
#pragma once

#include <cstdarg>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace tlsward {

struct Error {
    std::string message;
};

// printf-style formatting into a std::string (g++ 12 has no std::format).
std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vstrfmt(const char* fmt, va_list ap);

Error err(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error e) : v_(std::move(e)) {}      // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }

    const Error& error() const { return std::get<1>(v_); }
    const std::string& message() const { return std::get<1>(v_).message; }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : e_(std::move(e)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return !e_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *e_; }
    const std::string& message() const { return e_->message; }

private:
    std::optional<Error> e_;
};

using Status = Result<void>;

// Prefixes an error with the context it happened in ("service web: ...").
inline Error context(const std::string& where, const Error& e) {
    return Error{where + ": " + e.message};
}

}  // namespace tlsward
