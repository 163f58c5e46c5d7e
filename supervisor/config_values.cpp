// Value rules shared by the TOML loader (config_loader.cpp) and the command
// line (command_line.cpp). No toml++ here: this file compiles fast.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/address.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {
namespace {

constexpr uint64_t kSaturated = uint64_t{1} << 62;

uint64_t mul_sat(uint64_t a, uint64_t b) {
    if (a != 0 && b > kSaturated / a) return kSaturated;
    return a * b;
}

}  // namespace

Result<uint64_t> parse_duration_ms(std::string_view text, bool allow_bare_seconds) {
    size_t i = 0;
    uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        n = mul_sat(n, 10);
        if (n < kSaturated) n += static_cast<uint64_t>(text[i] - '0');
        ++i;
    }
    if (i == 0) return err(ErrorKind::config, "not a duration");
    std::string_view unit = text.substr(i);
    uint64_t scale = 0;
    if (unit == "ms")
        scale = 1;
    else if (unit == "s" || (unit.empty() && allow_bare_seconds))
        scale = 1000;
    else if (unit == "m")
        scale = 60 * 1000;
    else if (unit == "h")
        scale = 3600 * 1000;
    else
        return err(ErrorKind::config, "not a duration");
    return mul_sat(n, scale);
}

std::string format_duration_ms(uint64_t ms) {
    if (ms == 0) return "0s";
    if (ms % (3600 * 1000) == 0)
        return strfmt("%lluh", static_cast<unsigned long long>(ms / 3600000));
    if (ms % (60 * 1000) == 0) return strfmt("%llum", static_cast<unsigned long long>(ms / 60000));
    if (ms % 1000 == 0) return strfmt("%llus", static_cast<unsigned long long>(ms / 1000));
    return strfmt("%llums", static_cast<unsigned long long>(ms));
}

bool valid_service_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > 32) return false;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '/' || c == ':') return false;
    }
    return true;
}

Status check_target_syntax(const std::string& target) {
    for (char c : target) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == ' ')
            return err(ErrorKind::config, "target \"%s\" contains a space or control character",
                       target.c_str());
    }
    if (target.rfind("unix:", 0) == 0) {
        if (target.size() < 6 || target[5] != '/')
            return err(ErrorKind::config,
                       "target \"%s\": the unix socket path must be absolute, like "
                       "\"unix:/run/app.sock\"",
                       target.c_str());
        auto a = parse_numeric_address(target);
        if (!a) return a.error();
        return {};
    }
    auto hp = split_host_port(target);
    if (!hp) return hp.error();
    if (hp->second == 0)
        return err(ErrorKind::config, "target \"%s\": port 0 is not allowed", target.c_str());
    return {};
}

Result<uint64_t> parse_size_bytes(std::string_view text) {
    size_t i = 0;
    uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (n > (uint64_t{1} << 50)) return err(ErrorKind::config, "too large");
        n = n * 10 + static_cast<uint64_t>(text[i] - '0');
        ++i;
    }
    if (i == 0) return err(ErrorKind::config, "not a size");
    std::string_view unit = text.substr(i);
    uint64_t scale = 0;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "KiB")
        scale = 1024;
    else if (unit == "MiB")
        scale = 1024 * 1024;
    else if (unit == "GiB")
        scale = 1024 * 1024 * 1024;
    else if (unit == "kB")
        scale = 1000;
    else if (unit == "MB")
        scale = 1000 * 1000;
    else if (unit == "GB")
        scale = 1000 * 1000 * 1000;
    else
        return err(ErrorKind::config, "not a size");
    return mul_sat(n, scale);
}

uint64_t default_burst(uint64_t rate) {
    constexpr uint64_t kFullRecord = 16384 + 256 + 5;
    uint64_t b = rate / 10;
    return b < kFullRecord ? kFullRecord : b;
}

}  // namespace tlsward::supervisor
