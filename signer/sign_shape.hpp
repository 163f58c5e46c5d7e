// What the signer agrees to sign (docs/internals.md, "The signer"): the
// exact shape of each kind of TLS input, and nothing else. A compromised
// helper can therefore get only signatures that are good for a live TLS
// handshake of the key's own role: no raw digest (the signer hashes the
// message itself), no decryption, no RSA key exchange, no message that
// could pass for another protocol's.
//
// Pure (no I/O, no clock), so it is unit-tested shape by shape and fuzzed
// (tests/fuzz/fuzz_sign_request.cpp).
#pragma once

#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "ipc/sign_messages.hpp"

namespace tlsward::signer {

// The ECDHE groups tlsward offers (cryptoproc/tls_context.cpp, kGroups):
// X25519, P-256, P-384.
bool offered_group(uint16_t group, size_t* point_length);

// Checks one request against the key that would sign it (its algorithm and
// the kinds it may sign). The error (ErrorKind::protocol) says what is
// wrong, for the log line of the cut-off.
Status check_sign_request(const ipc::SignRequest& request, ipc::KeyAlgorithm key,
                          uint8_t allowed_kinds);

// The shapes alone, for tests and the fuzzer.
Status check_tls13_certificate_verify(std::span<const uint8_t> m, bool server);
Status check_tls12_server_key_exchange(std::span<const uint8_t> m);
Status check_tls12_client_transcript(std::span<const uint8_t> m);

}  // namespace tlsward::signer
