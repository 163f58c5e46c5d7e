#include "supervisor/metrics_listener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "supervisor/listeners.hpp"

namespace tlsward::supervisor {

Result<SocketAddress> parse_metrics_listen(const std::string& text) {
    if (text.rfind("unix:", 0) == 0 && (text.size() < 6 || text[5] != '/'))
        return err(ErrorKind::config, "metrics listen \"%s\": a unix socket path must be absolute",
                   text.c_str());
    auto a = parse_numeric_address(text);
    if (!a) return err(a.kind(), "metrics listen: %s", a.message().c_str());
    return a;
}

Result<std::unique_ptr<MetricsSocket>> MetricsSocket::bind(const std::string& listen) {
    auto address = parse_metrics_listen(listen);
    if (!address) return address.error();
    std::unique_ptr<MetricsSocket> s(new MetricsSocket());
    s->configured_ = listen;
    if (address->family() == AF_UNIX) {
        std::string path = listen.substr(5);
        struct stat st {};
        if (lstat(path.c_str(), &st) == 0) {
            // Only a socket nobody answers on is ours to replace.
            if (!S_ISSOCK(st.st_mode))
                return err(ErrorKind::config, "metrics listen %s: exists and is not a socket",
                           path.c_str());
            UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (probe && connect(probe.get(), address->sa(), address->length) == 0)
                return err(ErrorKind::config, "metrics listen %s: a running process answers on it",
                           path.c_str());
            unlink(path.c_str());
        }
        s->unix_path_ = path;
    }
    auto b = bind_listener(address.value());
    if (!b) {
        s->unix_path_.clear();  // not ours
        return err(b.kind(), "metrics %s", b.message().c_str());
    }
    s->bound_ = b->address;
    s->fd_ = std::move(b->fd);
    return s;
}

MetricsSocket::~MetricsSocket() {
    if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

}  // namespace tlsward::supervisor
