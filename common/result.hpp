// Errors are values. Every fallible function in tlsward returns Result<T>
// (or Status) carrying a kind, which is what callers decide on, and a
// message that names what failed and where, which is only ever shown to a
// person (logs, `tlsward check`, a control-socket answer). Nothing throws
// across an event-loop callback or a process boundary, and no code compares
// a message's text.
#pragma once

#include <cstdarg>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace tlsward {

// What went wrong, as far as a caller needs to know to decide what to do.
// Add a kind only when some caller decides on it.
enum class ErrorKind {
    internal,     // a bug or an impossible state: log it, fail the operation
    io,           // a system call failed (errno in the message)
    peer_closed,  // the other end went away in an orderly way (EOF, EPIPE)
    protocol,     // a peer (process or network) sent something malformed
    config,       // the configuration, a file it names, or a command line
};

const char* error_kind_name(ErrorKind kind);

struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;
};

// printf-style formatting into a std::string (g++ 12 has no std::format).
std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vstrfmt(const char* fmt, va_list ap);

Error err(ErrorKind kind, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

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
    ErrorKind kind() const { return std::get<1>(v_).kind; }
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
    ErrorKind kind() const { return e_->kind; }
    const std::string& message() const { return e_->message; }

private:
    std::optional<Error> e_;
};

using Status = Result<void>;

// Prefixes an error with the context it happened in ("service web: ..."),
// keeping its kind.
inline Error context(const std::string& where, const Error& e) {
    return Error{e.kind, where + ": " + e.message};
}

}  // namespace tlsward
