// The key table: one entry per key of tlsward.toml, saying where it may
// stand, how its value is read and checked into the model, and how the
// value in effect is printed. It drives the loader (the unknown-key check
// and its suggestions, required keys, reading), `tlsward check --print`,
// and the test that docs/configuration.md and the man pages name every key.
// Adding a key is adding an entry (config_keys.cpp) and a field.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/config_document.hpp"
#include "supervisor/config_reader.hpp"

namespace tlsward::supervisor {

// The tables of the file. A key may stand in several (bits).
enum class Section : uint8_t {
    top = 1,          // global, service, metrics
    global = 2,       // [global]
    metrics = 4,      // [metrics]
    service = 8,      // [[service]]
    certificate = 16  // [[service.certificate]]
};
// "[global]", "[[service]]", ...; "the top level".
const char* section_heading(Section s);

// Which service mode a key applies to (printing leaves out the other's).
enum class KeyMode : uint8_t { both, server, client };

struct KeySpec {
    std::string name;
    uint8_t sections = 0;  // Section bits
    KeyMode mode = KeyMode::both;
    bool required = false;  // missing: "NAME is missing" at the table's line
    bool secret = false;    // its value is never printed
    // Printed as a comment when show() has no value ("not set: ...").
    std::string unset = "not set";
    // Checks the value and stores it in the reader's target; false when it
    // reported a problem. Null for the tables the loader walks itself
    // (global, service, metrics, certificate).
    std::function<bool(ValueReader&, const ConfigNode&)> read;
    // The value in effect, as TOML ("10", "\"10s\"", "[\"h2\"]"); nullopt:
    // not set.
    std::function<std::optional<std::string>(const KeyTarget&)> show;

    bool in(Section s) const { return (sections & static_cast<uint8_t>(s)) != 0; }
};

// Every key, in the order they are read and printed.
const std::vector<KeySpec>& config_keys();
const KeySpec* find_key(Section s, std::string_view name);

// For an unknown key: " (did you mean \"listen\"?)" (and the key it was
// taken for in *guess), " (helpers belongs in [global])", or "".
std::string unknown_key_hint(Section s, std::string_view key, std::string* guess);

// A TOML basic string: "...", with \" \\ and control characters escaped.
std::string toml_string(std::string_view s);

}  // namespace tlsward::supervisor
