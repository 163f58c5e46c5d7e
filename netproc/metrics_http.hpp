// The metrics endpoint's HTTP side: a deliberately tiny server that answers
// one request per connection, "GET /metrics", with the exposition.
//
// Why not an HTTP library: all we need of a request is its first line and
// where the head ends. Debian's libhttp-parser (nodejs' http_parser) would
// parse headers we then ignore, and would still need the bounds below
// around it. What bounds a client, whatever it sends:
//   - the request head may be at most kMaxRequest bytes (431 beyond);
//   - it must arrive within kDeadlineMs of accept (408), and the answer
//     must be taken within kDeadlineMs more, or the connection is closed;
//   - at most kMaxClients connections at once; more are closed at accept;
//   - one recv of at most kMaxRequest bytes per wake-up, and the answer is
//     built from plain counters (no locks, no I/O), at most once per
//     kMetricsMinRenderMs: clients asking faster share the last answer, so
//     however fast anyone asks, rendering (linear in the number of
//     services, ~4 us each) takes a bounded share of the loop.
// Anything but a well-formed "GET /metrics HTTP/1.x" gets 400, 404 or 405.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.hpp"
#include "common/deferred_delete.hpp"
#include "common/unique_fd.hpp"
#include "common/uv_handles.hpp"
#include "netproc/listener.hpp"
#include "netproc/metrics_registry.hpp"

namespace tlsward::netproc {

inline constexpr size_t kMetricsMaxRequest = 4096;
inline constexpr uint64_t kMetricsDeadlineMs = 5000;
inline constexpr size_t kMetricsMaxClients = 8;
inline constexpr uint64_t kMetricsMinRenderMs = 200;

// What to answer a request head received so far (pure; unit-tested).
enum class MetricsRequest {
    incomplete,          // wait for more
    ok,                  // 200 with the exposition
    bad_request,         // 400
    not_found,           // 404
    method_not_allowed,  // 405
    too_large,           // 431: no end of head within kMetricsMaxRequest
};
MetricsRequest classify_metrics_request(std::string_view head);
// The whole HTTP response for a verdict other than `incomplete`/`ok`, or
// for 408 (timed_out).
std::string metrics_error_response(MetricsRequest verdict, bool timed_out = false);
std::string metrics_ok_response(const std::string& body);

class MetricsServer {
public:
    // Builds the exposition; called once per good request.
    using Render = std::function<std::string()>;

    MetricsServer(uv_loop_t* loop, MetricsRegistry& registry, Render render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Serves on this listening socket from now on (replaces any other).
    void listen(const SocketAddress& address, UniqueFd fd);
    // No listener: the endpoint is off. Clients being answered finish.
    void stop_listening();
    bool listening() const { return listener_ != nullptr; }
    size_t clients() const { return clients_.size(); }

private:
    class Client;
    void on_accept(UniqueFd fd);
    // The exposition, rendered again when the last one is older than
    // kMetricsMinRenderMs.
    const std::string& body();
    void finished(Client* c);

    uv_loop_t* loop_;
    MetricsRegistry& registry_;
    Render render_;
    std::unique_ptr<Listener> listener_;
    std::string body_;
    uint64_t body_ms_ = 0;
    bool have_body_ = false;
    std::vector<std::unique_ptr<Client>> clients_;
    // Clients that finished, freed outside their own callbacks.
    DeferredDelete<Client> graveyard_;
};

}  // namespace tlsward::netproc
