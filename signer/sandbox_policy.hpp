#pragma once

#include "common/sandbox.hpp"

namespace tlsward::signer {

// The tightest allow-list of the roles: its channels, memory, time,
// randomness, and exit. No socket, connect, file or process call at all.
sandbox::Policy sandbox_policy();

}  // namespace tlsward::signer
