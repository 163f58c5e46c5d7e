// Hexadecimal text and bytes, the one copy: key log lines (the helper),
// SPKI pins (configuration and logs).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tlsward {

// Lower-case hex of `bytes`, two digits each.
std::string hex_encode(std::span<const uint8_t> bytes);

// The value of one hex digit (either case), or -1 for anything else.
int hex_digit_value(char c);
inline bool is_hex_digit(char c) {
    return hex_digit_value(c) >= 0;
}

// Decodes exactly 2 * out.size() hex digits (either case) into `out`, in
// place (a secret decoded here has no other copy); false on any other
// length or character, and `out` is then not to be used.
bool hex_decode(std::string_view text, std::span<uint8_t> out);

}  // namespace tlsward
