// When a connection rotates its traffic keys (TLS 1.3 KeyUpdate, RFC 8446
// section 4.6.3): the policy, as a pure function of what has gone under
// each key and the clock. The message itself is key_update.hpp's, sending
// it the record layer's; the record pump asks this policy after each batch.
//
//   - by volume (`key_update_after`) or age (`key_update_interval`), for
//     each direction;
//   - always when the write key nears its AEAD usage limit
//     (RecordLayer::write_key_exhausted);
//   - a KeyUpdate for our direction also asks the peer to rotate
//     (update_requested) when the peer's key is half-way to its own
//     threshold, so one message serves both rather than two a moment apart;
//   - TLS 1.2 cannot rekey: at the usage limit the connection closes with
//     close_notify.
#pragma once

#include <cstdint>

#include "ipc/messages.hpp"

namespace tlsward::netproc {

// What has gone under the keys in use, one direction each.
struct KeyUsage {
    uint64_t out_bytes = 0;     // plaintext sealed under our current write key
    uint64_t out_since_ms = 0;  // when that key came into use
    uint64_t in_bytes = 0;      // plaintext opened under the peer's current key
    uint64_t in_since_ms = 0;

    // Both keys are new (the hand-off).
    void start(uint64_t now_ms) {
        *this = KeyUsage{};
        out_since_ms = in_since_ms = now_ms;
    }
    // The peer rotated its key (its KeyUpdate arrived).
    void peer_rotated(uint64_t now_ms) {
        in_bytes = 0;
        in_since_ms = now_ms;
    }
};

enum class Rotation {
    none,
    update,              // KeyUpdate, update_not_requested: our write key only
    update_and_request,  // KeyUpdate, update_requested: the peer rotates too
    close,               // TLS 1.2 at its usage limit: close_notify and close
};

// The thresholds (from the service's LinkSettings; 0: off).
struct RotationPolicy {
    uint64_t bytes = 0;
    uint64_t interval_ms = 0;

    static RotationPolicy from(const ipc::LinkSettings& link) {
        return {link.key_update_bytes, link.key_update_interval_ms};
    }
};

// What to do now. tls13: the connection runs TLS 1.3; write_key_exhausted:
// the record layer's write key is at its usage limit.
Rotation rotation_due(const RotationPolicy& policy, const KeyUsage& usage, uint64_t now_ms,
                      bool tls13, bool write_key_exhausted);

// A KeyUpdate went out as `r` (update or update_and_request) at now_ms:
// our key is new, and the peer's is counted as new once it was asked to
// rotate (the request is on its way).
void rotated(KeyUsage& usage, Rotation r, uint64_t now_ms);

}  // namespace tlsward::netproc
