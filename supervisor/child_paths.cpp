#include "supervisor/child_paths.hpp"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>

namespace tlsward::supervisor {

namespace {

bool executable(const std::string& path) {
    return access(path.c_str(), X_OK) == 0;
}

std::string own_directory() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string self(buf, static_cast<size_t>(n));
    auto slash = self.rfind('/');
    return slash == std::string::npos ? std::string() : self.substr(0, slash);
}

}  // namespace

Result<std::string> child_executable(const std::string& name) {
    if (const char* dir = std::getenv("TLSWARD_LIBEXEC_DIR")) {
        std::string p = std::string(dir) + "/" + name;
        if (executable(p)) return p;
        return err(ErrorKind::config, "%s not found in TLSWARD_LIBEXEC_DIR=%s", name.c_str(), dir);
    }
    std::string beside = own_directory() + "/" + name;
    if (executable(beside)) return beside;
    std::string installed = std::string(TLSWARD_LIBEXECDIR) + "/" + name;
    if (executable(installed)) return installed;
    return err(ErrorKind::config, "%s not found next to tlsward (%s) nor in %s", name.c_str(),
               beside.c_str(), TLSWARD_LIBEXECDIR);
}

}  // namespace tlsward::supervisor
