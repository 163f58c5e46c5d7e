// Turns OpenSSL's thread error queue into one readable string (and empties
// it, so a stale error never gets blamed on the next operation).
#pragma once

#include <string>

namespace tlsward {

std::string openssl_errors();

}  // namespace tlsward
