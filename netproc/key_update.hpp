// TLS 1.3 KeyUpdate (RFC 8446 section 4.6.3): the message and the key
// change it causes. Which records may carry it, and when to answer, is the
// record layer's business (record_layer.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "common/result.hpp"
#include "netproc/alerts.hpp"
#include "netproc/traffic_keys.hpp"

namespace tlsward::netproc {

constexpr uint8_t kHandshakeKeyUpdate = 24;

enum class KeyUpdateRequest : uint8_t { update_not_requested = 0, update_requested = 1 };

// Parses a KeyUpdate body: exactly one byte (else decode_error) holding 0 or
// 1 (else illegal_parameter, RFC 8446 4.6.3).
bool parse_key_update(std::span<const uint8_t> body, KeyUpdateRequest& out, Alert& alert,
                      std::string& detail);

// The whole handshake message: type, 24-bit length 1, request.
std::array<uint8_t, 5> key_update_message(KeyUpdateRequest request);

// Moves a direction to application_traffic_secret_N+1 and its keys; the
// record counter under the key starts again.
Status apply_key_update(DirectionKeys& dir);

}  // namespace tlsward::netproc
