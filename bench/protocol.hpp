// The plaintext protocol between tlsward-bench's clients and its backend
// (`tlsward-bench backend`). The first byte a client sends (through the
// server under test) selects what the backend does with the connection:
//
//   'E'  echo: everything after the first byte is sent back as it arrives
//        (ping, idle, handshakes --request).
//   'U'  upload sink: the backend discards what it reads and sends one
//        byte 'A' for every kAckUnit (64 KiB) received after the first byte,
//        so the client counts what really crossed the server under test.
//   'D'  download source: the backend writes a fixed pattern as fast as
//        the connection takes it, until the client goes away.
//
// Anything else closes the connection. The backend never closes first
// except on error; EOF from the client closes the connection.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsward::bench {

constexpr uint8_t kModeEcho = 'E';
constexpr uint8_t kModeUpload = 'U';
constexpr uint8_t kModeDownload = 'D';
constexpr uint8_t kAckByte = 'A';
constexpr size_t kAckUnit = 64 * 1024;

}  // namespace tlsward::bench
