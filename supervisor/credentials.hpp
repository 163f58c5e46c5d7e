// systemd credentials as file names in the configuration. A unit with
// `LoadCredential=web.key:/etc/tlsward/private/web.key` gets the file's
// bytes in $CREDENTIALS_DIRECTORY/web.key (a private, read-only directory
// of the service); the configuration names it `key = "credential:web.key"`.
// So the key directory itself can be invisible to the daemon
// (InaccessiblePaths=) and readable by root alone.
#pragma once

#include <string>

#include "common/result.hpp"

namespace tlsward::supervisor {

inline constexpr const char* kCredentialPrefix = "credential:";

// True for "credential:NAME".
bool is_credential_reference(const std::string& path);

// "credential:NAME" -> "$CREDENTIALS_DIRECTORY/NAME". NAME is a plain file
// name (no '/', not "." or ".."), as systemd's credential names are. An
// error when the variable is unset or not absolute names the credential
// and LoadCredential=, since that is what the operator forgot.
Result<std::string> credential_path(const std::string& reference);

}  // namespace tlsward::supervisor
