// common/result.hpp: errors are values with a kind that callers decide on
// and a message only people read.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "common/result.hpp"
#include "error_kind_printer.hpp"
#include "ipc/frame.hpp"

using namespace tlsward;

namespace {

Result<int> parse_digit(char c) {
    if (c < '0' || c > '9') return err(ErrorKind::config, "\"%c\" is not a digit", c);
    return c - '0';
}

Status check_positive(int v) {
    if (v <= 0) return err(ErrorKind::protocol, "%d is not positive", v);
    return {};
}

}  // namespace

TEST_CASE("err() formats its message and keeps the kind it is given", "[result]") {
    Error e = err(ErrorKind::io, "read %s: %d bytes", "x", 7);
    CHECK(e.kind == ErrorKind::io);
    CHECK(e.message == "read x: 7 bytes");
    // Longer than vstrfmt's stack buffer: formatted in full all the same.
    std::string long_text(1000, 'a');
    Error big = err(ErrorKind::internal, "%s!", long_text.c_str());
    CHECK(big.message == long_text + "!");
    CHECK(Error{}.kind == ErrorKind::internal);
}

TEST_CASE("error_kind_name names every kind", "[result]") {
    CHECK(std::string(error_kind_name(ErrorKind::internal)) == "internal");
    CHECK(std::string(error_kind_name(ErrorKind::io)) == "io");
    CHECK(std::string(error_kind_name(ErrorKind::peer_closed)) == "peer_closed");
    CHECK(std::string(error_kind_name(ErrorKind::protocol)) == "protocol");
    CHECK(std::string(error_kind_name(ErrorKind::config)) == "config");
    // A value outside the enum (memory damage, a cast) still names something.
    CHECK(std::string(error_kind_name(static_cast<ErrorKind>(99))) == "internal");
}

TEST_CASE("context() prefixes the message and keeps the kind", "[result]") {
    for (ErrorKind k : {ErrorKind::internal, ErrorKind::io, ErrorKind::peer_closed,
                        ErrorKind::protocol, ErrorKind::config}) {
        Error e = context("service web", err(k, "bad"));
        CHECK(e.kind == k);
        CHECK(e.message == "service web: bad");
    }
    // Nested contexts, as a configuration error travels up.
    Error inner = err(ErrorKind::config, "port 0 is not allowed");
    Error outer = context("tlsward.toml:3", context("service \"web\"", inner));
    CHECK(outer.kind == ErrorKind::config);
    CHECK(outer.message == "tlsward.toml:3: service \"web\": port 0 is not allowed");
}

TEST_CASE("Result<T>: a value or an error, with the error's kind and message", "[result]") {
    Result<int> good = parse_digit('7');
    REQUIRE(good.ok());
    CHECK(static_cast<bool>(good));
    CHECK(good.value() == 7);
    CHECK(*good == 7);

    Result<int> bad = parse_digit('x');
    REQUIRE_FALSE(bad.ok());
    CHECK_FALSE(static_cast<bool>(bad));
    CHECK(bad.kind() == ErrorKind::config);
    CHECK(bad.error().kind == ErrorKind::config);
    CHECK(bad.message() == "\"x\" is not a digit");
    CHECK(bad.error().message == bad.message());

    // An error passed on from one Result to another keeps its kind.
    auto relay = [](char c) -> Result<std::string> {
        auto d = parse_digit(c);
        if (!d) return d.error();
        return std::string(static_cast<size_t>(*d), '*');
    };
    CHECK(relay('3').value() == "***");
    CHECK(relay('-').kind() == ErrorKind::config);

    // Move-only values, and -> on them.
    Result<std::unique_ptr<std::string>> owned = std::make_unique<std::string>("abc");
    REQUIRE(owned.ok());
    CHECK((*owned)->size() == 3);
    std::unique_ptr<std::string> taken = std::move(owned).value();
    CHECK(*taken == "abc");
    Result<std::string> text = std::string("hello");
    CHECK(text->size() == 5);
}

TEST_CASE("Result<void> (Status): ok, or an error with its kind", "[result]") {
    Status fine = check_positive(1);
    CHECK(fine.ok());
    CHECK(static_cast<bool>(fine));
    Status s = check_positive(-2);
    REQUIRE_FALSE(s.ok());
    CHECK(s.kind() == ErrorKind::protocol);
    CHECK(s.error().kind == ErrorKind::protocol);
    CHECK(s.message() == "-2 is not positive");
    // Status from a Result<T>'s error, as a caller returns it.
    auto first_digit = [](const std::string& t) -> Status {
        auto d = parse_digit(t.empty() ? ' ' : t[0]);
        if (!d) return context(t, d.error());
        return {};
    };
    CHECK(first_digit("5x").ok());
    Status e = first_digit("x5");
    CHECK(e.kind() == ErrorKind::config);
    CHECK(e.message() == "x5: \"x\" is not a digit");
}

TEST_CASE("frame decoding tells unknown types on the type itself, not on a name", "[result][ipc]") {
    using ipc::MsgType;
    for (MsgType t : {MsgType::ready, MsgType::ping, MsgType::cp_ticket_keys, MsgType::hs_done,
                      MsgType::np_helper_failed})
        CHECK(ipc::msg_type_known(static_cast<uint16_t>(t)));
    for (uint16_t t : {0, 3, 12, 29, 36, 43, 53, 999, 0xffff}) CHECK_FALSE(ipc::msg_type_known(t));
    CHECK(std::string(ipc::msg_type_name(static_cast<MsgType>(999))) == "UNKNOWN");
}
