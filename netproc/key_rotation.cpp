#include "netproc/key_rotation.hpp"

namespace tlsward::netproc {

namespace {

// Due at 1/`share` of the configured volume or age (1: due; 2: half-way).
// A key nothing has gone under is never due: an idle connection sends no
// KeyUpdates.
bool due(const RotationPolicy& p, uint64_t bytes, uint64_t since_ms, uint64_t now_ms,
         uint64_t share) {
    if (bytes == 0) return false;
    if (p.bytes != 0 && bytes * share >= p.bytes) return true;
    return p.interval_ms != 0 && (now_ms - since_ms) * share >= p.interval_ms;
}

}  // namespace

Rotation rotation_due(const RotationPolicy& policy, const KeyUsage& usage, uint64_t now_ms,
                      bool tls13, bool write_key_exhausted) {
    if (!tls13) return write_key_exhausted ? Rotation::close : Rotation::none;
    bool ours = write_key_exhausted || due(policy, usage.out_bytes, usage.out_since_ms, now_ms, 1);
    bool theirs = due(policy, usage.in_bytes, usage.in_since_ms, now_ms, 1);
    if (!ours && !theirs) return Rotation::none;
    // One KeyUpdate serves both directions when the peer's key is half-way
    // to its own rotation.
    if (ours && !theirs) theirs = due(policy, usage.in_bytes, usage.in_since_ms, now_ms, 2);
    // Our KeyUpdate always rotates our write key; update_requested asks the
    // peer to rotate the key it sends with, too.
    return theirs ? Rotation::update_and_request : Rotation::update;
}

void rotated(KeyUsage& usage, Rotation r, uint64_t now_ms) {
    usage.out_bytes = 0;
    usage.out_since_ms = now_ms;
    if (r == Rotation::update_and_request) usage.peer_rotated(now_ms);
}

}  // namespace tlsward::netproc
