// common/hex: the one hex codec (key log lines, SPKI pins).
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "common/hex.hpp"

using namespace tlsward;

TEST_CASE("hex_encode writes two lower-case digits per byte", "[hex]") {
    std::vector<uint8_t> b = {0x00, 0x0f, 0xa5, 0xff};
    CHECK(hex_encode(b) == "000fa5ff");
    CHECK(hex_encode({}).empty());
}

TEST_CASE("hex_decode takes exactly two digits per byte, either case", "[hex]") {
    std::array<uint8_t, 4> out{};
    REQUIRE(hex_decode("000fA5fF", out));
    CHECK(out == std::array<uint8_t, 4>{0x00, 0x0f, 0xa5, 0xff});
    CHECK_FALSE(hex_decode("000fa5f", out));     // too short
    CHECK_FALSE(hex_decode("000fa5ff00", out));  // too long
    CHECK_FALSE(hex_decode("000fa5fg", out));    // not a digit
    CHECK_FALSE(hex_decode("000f a5f", out));
    std::array<uint8_t, 0> none{};
    CHECK(hex_decode("", none));
    for (char c : std::string("0123456789abcdefABCDEF")) CHECK(is_hex_digit(c));
    for (char c : std::string("gG :x-\n")) CHECK_FALSE(is_hex_digit(c));
    CHECK(hex_digit_value('b') == 11);
    CHECK(hex_digit_value('B') == 11);
}
