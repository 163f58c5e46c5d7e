// Slow and half-open clients (issue 11): a client that sends part of a
// ClientHello and waits would hold a helper's job slot, and thousands of
// them would starve real handshakes. netproc therefore lends a socket to
// a helper only once the client's ClientHello has fully arrived. It peeks
// at the socket and follows the ClientHello message across handshake
// records (RFC 8446 5.1 lets a handshake message span records: a client
// may send it one byte per record), reading only the record headers and
// the 4-byte handshake header; what the message holds, and whether it is
// TLS at all, stays the helper's to judge. A client that never completes
// its ClientHello is closed by netproc at the handshake deadline without a
// helper ever seeing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tlsward::netproc {

// The most netproc peeks (and waits for) before a helper gets the socket
// anyway. It is not a limit on the ClientHello's size: OpenSSL takes one
// of up to 128 KiB (CLIENT_HELLO_MAX_LENGTH), and when this much has
// arrived without the end of the message the helper reads the rest itself
// (a client that sent 32 KiB in a hurry is not a slow one). It stays well
// within what the kernel buffers for a socket nobody reads (tcp_rmem's
// default of 128 KiB, about 110 KiB of data measured with one-byte
// records), so a large fragmented hello never stalls waiting for a peek
// window that cannot fill. Peeking copies at most this much per new
// segment.
constexpr size_t kClientHelloPeek = 32 * 1024;
// Records followed before the helper gets the socket as it stands: bounds
// the parsing per new segment (one-byte records of a 1 KiB ClientHello
// are about 1,100 records).
constexpr size_t kClientHelloMaxRecords = 2048;
// OpenSSL refuses a longer ClientHello message (CLIENT_HELLO_MAX_LENGTH):
// one that announces more goes to the helper at once for its alert.
constexpr size_t kClientHelloMaxLength = 131396;

// True once `peeked` (the first bytes of the connection) holds the whole
// ClientHello message, however many handshake records carry it, or shows
// that waiting is pointless: a record that is not a handshake record, one
// over 2^14, a first handshake message that is not a ClientHello or is too
// long (the helper answers each with the right alert), a full peek window,
// or more than kClientHelloMaxRecords records. Bytes after the message
// (early data, a second message) are the helper's.
bool client_hello_ready(std::span<const uint8_t> peeked);

}  // namespace tlsward::netproc
