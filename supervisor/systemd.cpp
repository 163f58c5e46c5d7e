#include "supervisor/systemd.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "common/result.hpp"

namespace tlsward::supervisor::systemd {

bool notify_enabled() {
    const char* s = std::getenv("NOTIFY_SOCKET");
    return s != nullptr && *s != '\0';
}

void notify_ready() {
    sd_notify(0, "READY=1");
}

void notify_reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

void notify_stopping() {
    sd_notify(0, "STOPPING=1");
}

void notify_status(const std::string& text) {
    if (!notify_enabled()) return;
    sd_notify(0, ("STATUS=" + text).c_str());
}

void notify_watchdog() {
    sd_notify(0, "WATCHDOG=1");
}

uint64_t watchdog_interval_ms() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0) return 0;
    return usec / 1000 == 0 ? 1 : usec / 1000;
}

std::vector<InheritedSocket> inherited_sockets(std::vector<std::string>& rejected) {
    std::vector<InheritedSocket> out;
    char** names = nullptr;
    int n = sd_listen_fds_with_names(1, &names);
    if (n <= 0) return out;
    for (int i = 0; i < n; ++i) {
        int fd = SD_LISTEN_FDS_START + i;
        std::string name = names && names[i] ? names[i] : "unknown";
        UniqueFd owned(fd);
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
            rejected.push_back(
                strfmt("fd %d (\"%s\") is not a listening stream socket", fd, name.c_str()));
            continue;
        }
        out.push_back(InheritedSocket{std::move(owned), name});
    }
    if (names) {
        for (int i = 0; i < n; ++i) std::free(names[i]);
        std::free(names);
    }
    return out;
}

}  // namespace tlsward::supervisor::systemd
