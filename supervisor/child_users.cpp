#include "supervisor/child_users.hpp"

#include <dirent.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/capabilities.hpp"

namespace tlsward::supervisor {

namespace {

Result<sandbox::Identity> lookup_user(const std::string& name, const char* key) {
    errno = 0;
    struct passwd* pw = getpwnam(name.c_str());
    if (pw == nullptr) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH)
            return err(ErrorKind::io, "%s \"%s\": cannot look it up: %s", key, name.c_str(),
                       strerror(errno));
        return err(ErrorKind::config,
                   "%s \"%s\" does not exist (the package creates it; or: useradd --system "
                   "--no-create-home --shell /usr/sbin/nologin %s)",
                   key, name.c_str(), name.c_str());
    }
    if (pw->pw_uid == 0)
        return err(ErrorKind::config, "%s \"%s\" is root (uid 0)", key, name.c_str());
    sandbox::Identity id;
    id.uid = pw->pw_uid;
    id.gid = pw->pw_gid;
    return id;
}

bool directory_is_empty(const std::string& path) {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return false;
    bool empty = true;
    while (struct dirent* e = readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}

// mkdir -p with mode 0755 for what is missing.
Status make_directories(const std::string& path) {
    for (size_t i = 1; i <= path.size(); ++i) {
        if (i != path.size() && path[i] != '/') continue;
        std::string part = path.substr(0, i);
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            return err(ErrorKind::io, "mkdir %s: %s", part.c_str(), strerror(errno));
    }
    return {};
}

Status check_chroot_dir(const std::string& dir) {
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return err(ErrorKind::io, "chroot_dir %s: %s", dir.c_str(), strerror(errno));
        if (auto s = make_directories(dir); !s) return context("chroot_dir", s.error());
        if (chmod(dir.c_str(), 0755) != 0)
            return err(ErrorKind::io, "chroot_dir %s: chmod: %s", dir.c_str(), strerror(errno));
        if (lstat(dir.c_str(), &st) != 0)
            return err(ErrorKind::io, "chroot_dir %s: %s", dir.c_str(), strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return err(ErrorKind::config, "chroot_dir %s is not a directory", dir.c_str());
    if (st.st_uid != 0)
        return err(ErrorKind::config, "chroot_dir %s is not owned by root", dir.c_str());
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return err(ErrorKind::config, "chroot_dir %s is writable by group or others", dir.c_str());
    if (!directory_is_empty(dir))
        return err(ErrorKind::config, "chroot_dir %s is not empty", dir.c_str());
    return {};
}

}  // namespace

Result<ChildUsers> resolve_child_users(const Config& config) {
    ChildUsers users;
    // Root, or a non-root supervisor given what changing users takes
    // (systemd's User= with AmbientCapabilities=CAP_SETUID CAP_SETGID ...).
    if (geteuid() != 0 && !(caps::effective(CAP_SETUID) && caps::effective(CAP_SETGID)))
        return users;
    const GlobalConfig& g = config.global;
    auto net = lookup_user(g.user, "user");
    if (!net) return net.error();
    auto crypto = lookup_user(g.crypto_user, "crypto_user");
    if (!crypto) return crypto.error();
    if (*net->uid == *crypto->uid)
        return err(ErrorKind::config,
                   "user \"%s\" and crypto_user \"%s\" have the same uid %u: they must differ, so "
                   "that netproc cannot ptrace or signal a helper",
                   g.user.c_str(), g.crypto_user.c_str(), *net->uid);
    users.netproc = net.value();
    users.helper = crypto.value();
    // The chroot is the third wall around files (seccomp allows no open,
    // Landlock denies every file right). A supervisor not given
    // CAP_SYS_CHROOT (the packaged unit: chroot is in systemd's @mount set,
    // which it denies) leaves it out and says so.
    if (!caps::effective(CAP_SYS_CHROOT)) {
        users.notes.push_back(
            "netproc and the helpers are not chrooted: no CAP_SYS_CHROOT (seccomp and Landlock "
            "still keep them from every file)");
        return users;
    }
    if (auto s = check_chroot_dir(g.chroot_dir); !s) return s.error();
    users.helper.chroot_dir = g.chroot_dir;
    users.netproc.chroot_dir = g.chroot_dir;
    // A unix: target is a path netproc connects to: inside the chroot it
    // would not exist. Landlock and seccomp still keep netproc from files.
    for (const ServiceConfig& s : config.services) {
        if (s.target.rfind("unix:", 0) == 0) {
            users.netproc.chroot_dir.clear();
            users.notes.push_back(strfmt("netproc is not chrooted: service \"%s\" targets %s",
                                         s.name.c_str(), s.target.c_str()));
            break;
        }
    }
    return users;
}

std::vector<std::string> identity_args(const sandbox::Identity& identity) {
    std::vector<std::string> args;
    if (!identity.uid || !identity.gid) return args;
    args = {"--uid", std::to_string(*identity.uid), "--gid", std::to_string(*identity.gid)};
    if (!identity.chroot_dir.empty()) {
        args.emplace_back("--chroot");
        args.push_back(identity.chroot_dir);
    }
    return args;
}

}  // namespace tlsward::supervisor
