// A TOML document as the loader walks it: every value with the position it
// was written at, without toml++ (config_toml.cpp, the only file that
// includes it, builds this). The key table (config_keys.hpp) reads values
// of this shape, so neither it nor the loader compiles toml++.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {

struct ConfigEntry;

struct ConfigNode {
    enum class Type { string, integer, floating, boolean, date, time, date_time, array, table };
    Type type = Type::table;
    SourcePosition at;  // where the value starts
    std::string text;   // string
    int64_t integer = 0;
    double floating = 0;
    bool boolean = false;
    std::vector<ConfigNode> items;     // array
    std::vector<ConfigEntry> entries;  // table, in the order the keys were written

    bool is_string() const { return type == Type::string; }
    bool is_array() const { return type == Type::array; }
    bool is_table() const { return type == Type::table; }
    // The entry named `key` of a table; null when absent (or not a table).
    const ConfigNode* get(std::string_view key) const;
    // Where the entry `key` itself was written (for an unknown key).
    SourcePosition key_position(std::string_view key) const;
};

struct ConfigEntry {
    std::string key;
    SourcePosition key_at;
    ConfigNode value;
};

// Parses TOML text. A syntax error reads "SOURCE:LINE: toml++'s
// description", with a hint when the line holds a bare value that wanted
// quotes (target = 127.0.0.1:8080).
Result<ConfigNode> parse_toml_document(std::string_view text, const std::string& source);

// A string as it appears in a message: quoted, control characters escaped,
// long values cut.
std::string quoted(std::string_view s);
// What the user wrote, for "..., got X": a quoted string, a number, "an
// array", "a table", "a date".
std::string describe(const ConfigNode& n);

}  // namespace tlsward::supervisor
