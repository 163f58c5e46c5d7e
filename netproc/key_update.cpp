#include "netproc/key_update.hpp"

#include "common/bytes.hpp"

namespace tlsward::netproc {

bool parse_key_update(std::span<const uint8_t> body, KeyUpdateRequest& out, Alert& alert,
                      std::string& detail) {
    ByteReader r(body);
    uint8_t v = 0;
    if (!r.u8(v) || !r.done()) {
        alert = Alert::decode_error;
        detail = strfmt("KeyUpdate body of %zu bytes", body.size());
        return false;
    }
    if (v > 1) {
        alert = Alert::illegal_parameter;
        detail = strfmt("KeyUpdate request_update %u", v);
        return false;
    }
    out = static_cast<KeyUpdateRequest>(v);
    return true;
}

std::array<uint8_t, 5> key_update_message(KeyUpdateRequest request) {
    return {kHandshakeKeyUpdate, 0, 0, 1, static_cast<uint8_t>(request)};
}

Status apply_key_update(DirectionKeys& dir) {
    auto next = tls13_next_traffic_secret(dir.suite(), dir.traffic_secret());
    if (!next) return context("KeyUpdate", next.error());
    if (Status s = dir.install_tls13_secret(std::move(next).value()); !s)
        return context("KeyUpdate", s.error());
    return {};
}

}  // namespace tlsward::netproc
