// libFuzzer target: the configuration loader (supervisor/config_loader.cpp)
// over arbitrary TOML text, as `tlsward check` would read a file. It opens
// no file (certificates are loaded later, by prepare_config), so any input
// is safe to run. An error must come with a message; a configuration it
// accepts must be accepted again, unchanged, from the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "supervisor/config.hpp"

using namespace tlsward::supervisor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = parse_config(text, "/fuzz/tlsward.toml", "/fuzz");
    if (!r) {
        if (r.message().empty()) std::abort();
        return 0;
    }
    auto again = parse_config(text, "/fuzz/tlsward.toml", "/fuzz");
    if (!again || !(again.value() == r.value())) std::abort();
    return 0;
}
