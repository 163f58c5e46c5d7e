// Keeps `concurrency` new TLS connections in flight on one loop: connect,
// full (or resumed) handshake, optionally one echo round trip, close, start
// the next. Used by the handshakes mode, the ping mode's flood and the soak
// mode's churn.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>

#include "bench/stats.hpp"
#include "bench/tls_client.hpp"
#include "common/uv_handles.hpp"

namespace tlsward::bench {

struct HandshakeCounts {
    uint64_t ok = 0;                         // handshakes completed inside the window
    uint64_t resumed = 0;                    // of which resumed a session
    uint64_t failed = 0;                     // connections that failed inside the window
    uint64_t ok_total = 0;                   // including warm-up and drain
    LatencyRecorder latency;                 // connect start to handshake done, for `ok`
    std::map<std::string, uint64_t> errors;  // error text -> count
    std::string negotiated;                  // TlsConn::describe() of one handshake

    void merge(const HandshakeCounts& o);
};

class HandshakeLoop : public TlsConn::Handler {
public:
    HandshakeLoop(uv_loop_t* loop, ClientContext& tls, const sockaddr* addr, int concurrency,
                  bool request);
    ~HandshakeLoop() override;

    // Starts at start_ns; counts what completes in [from_ns, to_ns); starts
    // nothing new after to_ns and aborts what is still open 5 s later.
    void schedule(uint64_t start_ns, uint64_t from_ns, uint64_t to_ns);
    const HandshakeCounts& counts() const { return counts_; }

    void on_handshake(TlsConn& c) override;
    void on_data(TlsConn& c, const uint8_t* p, size_t n) override;
    void on_input(TlsConn& c) override;
    void on_closed(TlsConn& c, const char* error) override;

private:
    void launch();
    void launch_all();
    void stop();
    void end_priming(TlsConn& c);
    bool in_window(uint64_t t) const { return t >= from_ns_ && t < to_ns_; }

    uv_loop_t* loop_;
    ClientContext& tls_;
    sockaddr_storage addr_{};
    int concurrency_;
    bool request_;
    bool running_ = false;
    bool priming_ = false;  // --resume: one connection waits for a session first
    uint64_t from_ns_ = 0;
    uint64_t to_ns_ = 0;
    std::unordered_set<TlsConn*> live_;
    HandshakeCounts counts_;
    std::unique_ptr<UvTimer> start_timer_;
    std::unique_ptr<UvTimer> stop_timer_;
    std::unique_ptr<UvTimer> kill_timer_;
    std::unique_ptr<UvTimer> prime_timer_;
};

}  // namespace tlsward::bench
