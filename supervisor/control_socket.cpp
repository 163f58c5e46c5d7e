#include "supervisor/control_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.hpp"

namespace tlsward::supervisor {

namespace {

// A request is one short line, and must arrive soon after connecting.
constexpr size_t kMaxRequest = 256;
constexpr uint64_t kRequestTimeoutMs = 5000;
constexpr int kAcceptsPerTurn = 16;

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        return err(ErrorKind::config, "control socket %s: a Unix socket path is 1 to %zu bytes",
                   path.c_str(), sizeof a.sun_path - 1);
    std::memcpy(a.sun_path, path.data(), path.size());
    return a;
}

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

uint64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// The directory must exist (we create the last level) and belong to us or
// root: a socket in someone else's directory could be swapped under us.
Status prepare_directory(const std::string& dir) {
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return err(ErrorKind::io, "control socket directory %s: %s", dir.c_str(),
                       strerror(errno));
        if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return err(ErrorKind::io, "control socket directory %s: mkdir: %s", dir.c_str(),
                       strerror(errno));
        if (stat(dir.c_str(), &st) != 0)
            return err(ErrorKind::io, "control socket directory %s: %s", dir.c_str(),
                       strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return err(ErrorKind::config, "control socket directory %s is not a directory",
                   dir.c_str());
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return err(ErrorKind::config, "control socket directory %s belongs to uid %u, not to us",
                   dir.c_str(), static_cast<unsigned>(st.st_uid));
    return {};
}

// A socket file already at `path`: stale (nobody answers: remove it) or
// in use (refuse, naming the process).
Status clear_stale(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return err(ErrorKind::io, "control socket %s: %s", path.c_str(), strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return err(ErrorKind::config, "control socket %s: the path exists and is not a socket",
                   path.c_str());
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe)
        return err(ErrorKind::io, "control socket %s: socket: %s", path.c_str(), strerror(errno));
    if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(probe.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0)
            return err(ErrorKind::config,
                       "control socket %s is in use by a running process (pid %d): is another "
                       "tlsward running? (give it another path with --control)",
                       path.c_str(), static_cast<int>(cred.pid));
        return err(ErrorKind::config, "control socket %s is in use by a running process",
                   path.c_str());
    }
    if (errno != ECONNREFUSED && errno != ENOENT)
        return err(ErrorKind::io, "control socket %s: connect: %s", path.c_str(), strerror(errno));
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
        return err(ErrorKind::io, "control socket %s: removing the stale socket: %s", path.c_str(),
                   strerror(errno));
    return {};
}

}  // namespace

struct ControlServer::Client {
    uint64_t id = 0;
    ControlServer* server = nullptr;  // null once the server is gone
    UniqueFd fd;
    std::unique_ptr<UvPoll> poll;
    std::unique_ptr<UvTimer> timer;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool requested = false;
    bool done = false;
};

Result<std::unique_ptr<ControlServer>> ControlServer::open(uv_loop_t* loop, const std::string& path,
                                                           Handler handler) {
    if (path.empty() || path[0] != '/')
        return err(ErrorKind::config, "control socket \"%s\": not an absolute path", path.c_str());
    auto addr = unix_address(path);
    if (!addr) return addr.error();
    if (auto s = prepare_directory(parent_of(path)); !s) return s.error();
    if (auto s = clear_stale(path, *addr); !s) return s.error();

    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        return err(ErrorKind::io, "control socket %s: socket: %s", path.c_str(), strerror(errno));
    // Owner-only from the first instant (bind creates the file with the umask).
    mode_t old = umask(0177);
    int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr.value()), sizeof(sockaddr_un));
    int bind_errno = errno;
    umask(old);
    if (rc != 0)
        return err(ErrorKind::io, "control socket %s: bind: %s", path.c_str(),
                   strerror(bind_errno));
    if (chmod(path.c_str(), 0600) != 0 || listen(fd.get(), 16) != 0) {
        int e = errno;
        unlink(path.c_str());
        return err(ErrorKind::io, "control socket %s: %s", path.c_str(), strerror(e));
    }
    std::unique_ptr<ControlServer> server(
        new ControlServer(loop, path, std::move(fd), std::move(handler)));
    return server;
}

ControlServer::ControlServer(uv_loop_t* loop, std::string path, UniqueFd fd, Handler handler)
    : loop_(loop),
      path_(std::move(path)),
      fd_(std::move(fd)),
      handler_(std::move(handler)),
      dead_(loop) {
    struct stat st {};
    if (stat(path_.c_str(), &st) == 0) {
        dev_ = st.st_dev;
        ino_ = st.st_ino;
    }
    poll_ = std::make_unique<UvPoll>(loop, fd_.get(), [this](int, int) { on_acceptable(); });
    poll_->set_events(UV_READABLE);
}

ControlServer::~ControlServer() {
    poll_.reset();
    for (auto& [id, c] : clients_) {
        c->server = nullptr;
        c->poll.reset();
        c->timer.reset();
    }
    clients_.clear();
    dead_.flush();
    // Remove the path only if it is still our socket (not a successor's).
    struct stat st {};
    if (stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
        unlink(path_.c_str());
}

void ControlServer::on_acceptable() {
    for (int i = 0; i < kAcceptsPerTurn; ++i) {
        int fd = accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        UniqueFd owned(fd);
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
            (cred.uid != geteuid() && cred.uid != 0)) {
            LOG_WARN("event=control_refused uid=%u pid=%d", static_cast<unsigned>(cred.uid),
                     static_cast<int>(cred.pid));
            continue;
        }
        auto c = std::make_shared<Client>();
        c->id = next_id_++;
        c->server = this;
        c->fd = std::move(owned);
        std::weak_ptr<Client> weak = c;
        c->poll = std::make_unique<UvPoll>(loop_, c->fd.get(), [this, weak](int, int events) {
            if (auto cl = weak.lock()) on_client_event(cl, events);
        });
        c->timer = std::make_unique<UvTimer>(loop_, [this, weak] {
            if (auto cl = weak.lock()) drop(cl);
        });
        c->poll->set_events(UV_READABLE);
        c->timer->start(kRequestTimeoutMs);
        clients_[c->id] = c;
    }
}

void ControlServer::on_client_event(const std::shared_ptr<Client>& c, int events) {
    if (c->done) return;
    if (c->requested) {
        if (events & UV_WRITABLE) flush(c);
        return;
    }
    char buf[kMaxRequest];
    ssize_t n = recv(c->fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return drop(c);
    c->in.append(buf, static_cast<size_t>(n));
    auto nl = c->in.find('\n');
    if (nl == std::string::npos) {
        if (c->in.size() > kMaxRequest) {
            c->requested = true;
            c->timer->stop();
            c->out = "error\nrequest too long\n";
            flush(c);
        }
        return;
    }
    std::string line = c->in.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    c->requested = true;
    c->timer->stop();
    c->poll->set_events(0);
    on_request(c, line);
}

void ControlServer::on_request(const std::shared_ptr<Client>& c, const std::string& line) {
    std::weak_ptr<Client> weak = c;
    handler_(line, [weak](bool ok, const std::string& body) {
        auto cl = weak.lock();
        if (!cl || cl->done || !cl->server || !cl->out.empty()) return;
        cl->out = std::string(ok ? "ok\n" : "error\n") + body;
        if (!body.empty() && body.back() != '\n') cl->out += '\n';
        cl->server->flush(cl);
    });
}

void ControlServer::flush(const std::shared_ptr<Client>& c) {
    while (c->sent < c->out.size()) {
        ssize_t n =
            send(c->fd.get(), c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            c->poll->set_events(UV_WRITABLE);
            return;
        }
        if (n <= 0) return drop(c);
        c->sent += static_cast<size_t>(n);
    }
    drop(c);
}

void ControlServer::drop(const std::shared_ptr<Client>& c) {
    if (c->done) return;
    c->done = true;
    if (c->poll) c->poll->set_events(0);
    if (c->timer) c->timer->stop();
    clients_.erase(c->id);
    dead_.defer(c);  // its handles and fd go after this loop turn's I/O
}

std::string default_control_path() {
    if (const char* rd = std::getenv("RUNTIME_DIRECTORY"); rd && *rd) {
        std::string dirs = rd;
        return dirs.substr(0, dirs.find(':')) + "/control";
    }
    if (geteuid() == 0) return "/run/tlsward/control";
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg && xdg[0] == '/')
        return std::string(xdg) + "/tlsward/control";
    return strfmt("/tmp/tlsward-%u/control", static_cast<unsigned>(geteuid()));
}

Result<ControlAnswer> control_request(const std::string& path, const std::string& request,
                                      uint64_t timeout_ms) {
    auto addr = unix_address(path);
    if (!addr) return addr.error();
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return err(ErrorKind::io, "socket: %s", strerror(errno));
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.value()), sizeof(sockaddr_un)) !=
        0)
        return err(ErrorKind::io,
                   "cannot reach tlsward at %s: %s (is it running? is that its --control path?)",
                   path.c_str(), strerror(errno));
    std::string line = request + "\n";
    if (send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
        return err(ErrorKind::io, "%s: send: %s", path.c_str(), strerror(errno));
    uint64_t deadline = monotonic_ms() + timeout_ms;
    std::string answer;
    char buf[16384];
    for (;;) {
        uint64_t now = monotonic_ms();
        if (now >= deadline)
            return err(ErrorKind::io, "%s: no answer within %llu ms", path.c_str(),
                       static_cast<unsigned long long>(timeout_ms));
        pollfd p{fd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(std::min<uint64_t>(deadline - now, 1000)));
        if (rc < 0 && errno != EINTR)
            return err(ErrorKind::io, "%s: poll: %s", path.c_str(), strerror(errno));
        if (rc <= 0) continue;
        ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return err(ErrorKind::io, "%s: recv: %s", path.c_str(), strerror(errno));
        if (n == 0) break;
        answer.append(buf, static_cast<size_t>(n));
    }
    ControlAnswer a;
    auto nl = answer.find('\n');
    std::string head = answer.substr(0, nl);
    if (head != "ok" && head != "error")
        return err(ErrorKind::protocol, "%s: unexpected answer from the control socket",
                   path.c_str());
    a.ok = head == "ok";
    a.body = nl == std::string::npos ? std::string() : answer.substr(nl + 1);
    return a;
}

}  // namespace tlsward::supervisor
