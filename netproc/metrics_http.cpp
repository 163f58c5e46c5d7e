#include "netproc/metrics_http.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/log.hpp"
#include "common/log_limiter.hpp"

namespace tlsward::netproc {

namespace {

bool transient(int e) {
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

// A request-line token: printable ASCII without spaces.
bool printable(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
}

std::string response(const char* status, const std::string& extra_headers,
                     const std::string& content_type, const std::string& body) {
    return strfmt(
               "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
               "close\r\n\r\n",
               status, content_type.c_str(), body.size(), extra_headers.c_str()) +
           body;
}

// Bad metrics clients are logged at most once a second.
LogLimiter g_bad_client_log(1000);

}  // namespace

MetricsRequest classify_metrics_request(std::string_view head) {
    size_t eol = head.find('\n');
    if (eol == std::string_view::npos)
        return head.size() >= kMetricsMaxRequest ? MetricsRequest::too_large
                                                 : MetricsRequest::incomplete;
    // The request line decides; a bad one is answered without waiting for
    // the rest of the head.
    std::string_view line = head.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return MetricsRequest::bad_request;
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!printable(method) || !printable(target) || target[0] != '/' ||
        (version != "HTTP/1.1" && version != "HTTP/1.0"))
        return MetricsRequest::bad_request;
    if (method != "GET") return MetricsRequest::method_not_allowed;
    std::string_view path = target.substr(0, target.find('?'));
    if (path != "/metrics") return MetricsRequest::not_found;
    // A good request is answered once its head is complete (an empty line),
    // so nothing the client sent is left unread when we close.
    if (head.find("\r\n\r\n") == std::string_view::npos &&
        head.find("\n\n") == std::string_view::npos)
        return head.size() >= kMetricsMaxRequest ? MetricsRequest::too_large
                                                 : MetricsRequest::incomplete;
    return MetricsRequest::ok;
}

std::string metrics_error_response(MetricsRequest verdict, bool timed_out) {
    if (timed_out) return response("408 Request Timeout", "", "text/plain", "request timeout\n");
    switch (verdict) {
        case MetricsRequest::not_found:
            return response("404 Not Found", "", "text/plain", "only /metrics is served here\n");
        case MetricsRequest::method_not_allowed:
            return response("405 Method Not Allowed", "Allow: GET\r\n", "text/plain",
                            "only GET is served here\n");
        case MetricsRequest::too_large:
            return response("431 Request Header Fields Too Large", "", "text/plain",
                            "request too large\n");
        default:
            return response("400 Bad Request", "", "text/plain", "bad request\n");
    }
}

std::string metrics_ok_response(const std::string& body) {
    return response("200 OK", "", "text/plain; version=0.0.4; charset=utf-8", body);
}

// One metrics connection: read the head, answer, close. After the answer
// it lingers (reading and discarding) until the client closes or the
// deadline, so an early close never turns the answer into a reset.
class MetricsServer::Client {
public:
    Client(MetricsServer& server, UniqueFd fd)
        : server_(server),
          fd_(std::move(fd)),
          poll_(server.loop_, fd_.get(), [this](int s, int e) { on_event(s, e); }),
          deadline_(server.loop_, [this] { on_deadline(); }) {
        poll_.set_events(UV_READABLE);
        deadline_.start(kMetricsDeadlineMs);
    }

private:
    void on_event(int status, int events) {
        if (done_) return;
        if (status < 0 && !(events & (UV_READABLE | UV_WRITABLE))) return finish();
        if (events & UV_WRITABLE) write_out();
        if (done_) return;
        if (events & (UV_READABLE | UV_DISCONNECT)) read_in();
    }

    void read_in() {
        char buf[kMetricsMaxRequest];
        size_t room = answering_ ? sizeof buf : kMetricsMaxRequest - head_.size();
        ssize_t n = recv(fd_.get(), buf, room, 0);
        if (n < 0 && transient(errno)) return;
        if (n <= 0) {
            // The client closed (or failed): nothing more to read or answer.
            if (!answering_ && !head_.empty()) count_bad("closed before the request was complete");
            return finish();
        }
        if (answering_) return;  // lingering: discard
        head_.append(buf, static_cast<size_t>(n));
        MetricsRequest v = classify_metrics_request(head_);
        if (v == MetricsRequest::incomplete) return;
        if (v == MetricsRequest::ok) {
            ++server_.registry_.scrapes;
            answer(metrics_ok_response(server_.body()));
        } else {
            count_bad("bad request");
            answer(metrics_error_response(v));
        }
    }

    void count_bad(const char* what) {
        ++server_.registry_.bad_requests;
        if (g_bad_client_log.allow(uv_now(server_.loop_)))
            LOG_INFO("event=metrics_bad_request reason=\"%s\" suppressed=%llu", what,
                     static_cast<unsigned long long>(g_bad_client_log.take_suppressed()));
    }

    void answer(std::string out) {
        answering_ = true;
        out_ = std::move(out);
        head_ = std::string();
        deadline_.start(kMetricsDeadlineMs);
        write_out();
    }

    void write_out() {
        while (sent_ < out_.size()) {
            ssize_t n = send(fd_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
            if (n < 0) {
                if (transient(errno)) {
                    poll_.set_events(UV_READABLE | UV_WRITABLE);
                    return;
                }
                return finish();
            }
            sent_ += static_cast<size_t>(n);
        }
        // All sent: half-close, then wait for the client's EOF (linger).
        out_ = std::string();
        shutdown(fd_.get(), SHUT_WR);
        poll_.set_events(UV_READABLE);
    }

    void on_deadline() {
        if (done_) return;
        if (!answering_) {
            ++server_.registry_.timeouts;
            // Best effort: one non-blocking send of the 408, then close.
            std::string r = metrics_error_response(MetricsRequest::bad_request, true);
            (void)send(fd_.get(), r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        finish();
    }

    void finish() {
        if (done_) return;
        done_ = true;
        poll_.set_events(0);
        deadline_.stop();
        server_.finished(this);
    }

    MetricsServer& server_;
    UniqueFd fd_;
    UvPoll poll_;
    UvTimer deadline_;
    std::string head_;
    std::string out_;
    size_t sent_ = 0;
    bool answering_ = false;
    bool done_ = false;
};

MetricsServer::MetricsServer(uv_loop_t* loop, MetricsRegistry& registry, Render render)
    : loop_(loop), registry_(registry), render_(std::move(render)), graveyard_(loop) {}

MetricsServer::~MetricsServer() {
    listener_.reset();
    clients_.clear();
    graveyard_.flush();
}

const std::string& MetricsServer::body() {
    uint64_t now = uv_now(loop_);
    if (!have_body_ || now - body_ms_ >= kMetricsMinRenderMs) {
        uint64_t t0 = uv_hrtime();
        body_ = render_();
        registry_.last_render_us = (uv_hrtime() - t0) / 1000;
        body_ms_ = now;
        have_body_ = true;
    }
    return body_;
}

void MetricsServer::listen(const SocketAddress& address, UniqueFd fd) {
    listener_ = std::make_unique<Listener>(
        loop_, 0, address, std::move(fd),
        [this](UniqueFd c, const SocketAddress&) { on_accept(std::move(c)); });
    listener_->start();
}

void MetricsServer::stop_listening() {
    listener_.reset();
}

void MetricsServer::on_accept(UniqueFd fd) {
    if (clients_.size() >= kMetricsMaxClients) {
        // Scrapers are few; more at once is a misbehaving client. Closing
        // here costs nothing and keeps the endpoint's share of the loop bounded.
        ++registry_.clients_rejected;
        return;
    }
    clients_.push_back(std::make_unique<Client>(*this, std::move(fd)));
}

void MetricsServer::finished(Client* c) {
    auto it = std::find_if(clients_.begin(), clients_.end(),
                           [c](const std::unique_ptr<Client>& p) { return p.get() == c; });
    if (it == clients_.end()) return;
    graveyard_.defer(std::move(*it));
    clients_.erase(it);
}

}  // namespace tlsward::netproc
