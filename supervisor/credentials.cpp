#include "supervisor/credentials.hpp"

#include <cstdlib>

namespace tlsward::supervisor {

bool is_credential_reference(const std::string& path) {
    return path.rfind(kCredentialPrefix, 0) == 0;
}

Result<std::string> credential_path(const std::string& reference) {
    std::string name = reference.substr(std::string(kCredentialPrefix).size());
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.size() > 255)
        return err(ErrorKind::config,
                   "\"%s\": a credential name is a plain file name, like \"credential:web.key\"",
                   reference.c_str());
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (dir == nullptr || dir[0] == '\0')
        return err(ErrorKind::config,
                   "\"%s\": $CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with "
                   "LoadCredential=%s:/path/to/file)",
                   reference.c_str(), name.c_str());
    if (dir[0] != '/')
        return err(ErrorKind::config, "\"%s\": $CREDENTIALS_DIRECTORY is not an absolute path: %s",
                   reference.c_str(), dir);
    std::string base = dir;
    if (base.back() != '/') base += '/';
    return base + name;
}

}  // namespace tlsward::supervisor
