// Test builds only (cmake -DTLSWARD_FAULT_INJECTION=ON): a helper that
// misbehaves on request, so that tests can show netproc cuts it off and
// the supervisor replaces it (tests/integration/test_helper_misbehaves.py).
//
// A handshake whose client sent the server name "fault-MODE.invalid" is
// done normally, but its HANDSHAKE_DONE is replaced by the fault:
//   malformed   HANDSHAKE_DONE cut to 10 bytes of body
//   wrong-job   a well-formed HANDSHAKE_DONE for a job id netproc never sent
//   length      a frame whose length field is far beyond what arrives
//   fds         HANDSHAKE_DONE carrying three fds
//   type        NP_STATUS, a message a helper may never send
//   leak        a normal answer, and 4 KiB leaked (for LeakSanitizer)
// In a build without the option, misbehave() is never compiled in.
#pragma once

#include <cstdint>

#include "ipc/handoff.hpp"
#include "ipc/uv_channel.hpp"

namespace tlsward::cryptoproc {

#if defined(TLSWARD_FAULT_INJECTION)
// Sends the faulty answer the SNI asks for and returns true; false when the
// handshake asked for no fault (the caller sends the real answer).
bool misbehave(ipc::UvChannel& netproc, uint64_t job_id, const ipc::HandshakeDone& done);
#endif

}  // namespace tlsward::cryptoproc
