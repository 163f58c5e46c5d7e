// Bulk transfer on one loop: `connections` TLS connections that upload to
// the backend's sink ('U', counted by the backend's acknowledgements) or
// download from its source ('D'). Used by the throughput and soak modes.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>

#include "bench/tls_client.hpp"
#include "common/uv_handles.hpp"

namespace tlsward::bench {

struct BulkCounts {
    uint64_t bytes = 0;        // moved inside the window (up: acknowledged by the backend)
    uint64_t bytes_total = 0;  // including warm-up
    uint64_t connections = 0;  // handshakes completed
    uint64_t failed = 0;
    std::map<std::string, uint64_t> errors;
    std::string negotiated;

    void merge(const BulkCounts& o);
};

class BulkLoop : public TlsConn::Handler {
public:
    // direction: kModeUpload or kModeDownload. reconnect_after: bytes after
    // which a connection is closed and replaced (0: never).
    BulkLoop(uv_loop_t* loop, ClientContext& tls, const sockaddr* addr, int connections,
             uint8_t direction, uint64_t reconnect_after = 0);
    ~BulkLoop() override;

    void schedule(uint64_t start_ns, uint64_t from_ns, uint64_t to_ns);
    const BulkCounts& counts() const { return counts_; }

    void on_handshake(TlsConn& c) override;
    void on_data(TlsConn& c, const uint8_t* p, size_t n) override;
    void on_drained(TlsConn& c) override;
    void on_closed(TlsConn& c, const char* error) override;

private:
    void launch();
    void fill(TlsConn& c);
    void count(TlsConn& c, uint64_t n);
    void stop();

    uv_loop_t* loop_;
    ClientContext& tls_;
    sockaddr_storage addr_{};
    int connections_;
    uint8_t direction_;
    uint64_t reconnect_after_;
    bool running_ = false;
    uint64_t from_ns_ = 0;
    uint64_t to_ns_ = 0;
    std::unordered_set<TlsConn*> live_;
    BulkCounts counts_;
    std::unique_ptr<UvTimer> start_timer_;
    std::unique_ptr<UvTimer> stop_timer_;
    std::unique_ptr<UvTimer> retry_timer_;
    // Uploads go on from here, once per loop turn each (see fill()).
    UvIdle idle_;
    std::unordered_set<TlsConn*> to_fill_;
    void fill_later(TlsConn& c);
    void fill_due();
};

// 64 KiB of fixed bytes that do not compress.
const uint8_t* pattern_block();
constexpr size_t kPatternSize = 64 * 1024;

}  // namespace tlsward::bench
