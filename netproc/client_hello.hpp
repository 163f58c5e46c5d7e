// Slow and half-open clients (issue 11): a client that sends part of a
// ClientHello and waits would hold a helper's job slot, and thousands of
// them would starve real handshakes. netproc therefore lends a socket to
// a helper only once the client's first record has fully arrived. It
// peeks at the TLS record header (RFC 8446 5.1) and its length, and
// parses nothing of the handshake: what the record holds, and whether it
// is TLS at all, stays the helper's to judge. A client that never
// completes its first record is closed by netproc at the handshake
// deadline without a helper ever seeing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tlsward::netproc {

// The most netproc peeks: a record header and 2^14 bytes of plaintext (a
// ClientHello record is not encrypted).
constexpr size_t kClientHelloPeek = 5 + 16384;

// True once `peeked` (the first bytes of the connection) holds the whole
// first record, or shows it will never be a valid one (not a handshake
// record, or longer than 2^14): then the helper gets the socket at once and
// answers with the right alert.
bool first_record_complete(std::span<const uint8_t> peeked);

}  // namespace tlsward::netproc
