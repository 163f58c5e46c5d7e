// The counters behind the metrics endpoint that are not per service
// (ServiceCounters in service.hpp has those): handshake latency split into
// the wait for a helper and the helper's own time, sealed record sizes,
// the supervisor's last report and the endpoint's own requests. Plain
// integers owned by netproc's one thread: the exposition reads them
// without locks, and updating one is an add on the data path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ipc/messages.hpp"

namespace tlsward::netproc {

// A Prometheus histogram with fixed upper bounds (`le`), cumulative only
// when rendered. Observations are integers in the histogram's unit
// (microseconds, bytes); the exposition scales them.
template <size_t N>
class Histogram {
public:
    explicit constexpr Histogram(const std::array<uint64_t, N>& bounds) : bounds_(bounds) {}

    void observe(uint64_t v) {
        size_t i = 0;
        while (i < N && v > bounds_[i]) ++i;
        ++counts_[i];  // counts_[N] is +Inf
        sum_ += v;
    }
    const std::array<uint64_t, N>& bounds() const { return bounds_; }
    // Observations in bucket i alone (i == N: above the last bound).
    uint64_t count_in(size_t i) const { return counts_[i]; }
    uint64_t sum() const { return sum_; }
    static constexpr size_t buckets() { return N; }

private:
    std::array<uint64_t, N> bounds_;
    std::array<uint64_t, N + 1> counts_{};
    uint64_t sum_ = 0;
};

// Microseconds: 0.5 ms .. 10 s, for both handshake halves.
using LatencyHistogram = Histogram<14>;
inline constexpr std::array<uint64_t, 14> kLatencyBoundsUs = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
// Plaintext bytes per sealed record: one segment, a few, then full records.
using RecordSizeHistogram = Histogram<8>;
inline constexpr std::array<uint64_t, 8> kRecordSizeBounds = {256,  512,  1024, 1400,
                                                              2048, 4096, 8192, 16384};

struct MetricsRegistry {
    // From accept (or a client-mode connect) until a helper takes the job;
    // 0 when one was free at once.
    LatencyHistogram handshake_queue_wait{kLatencyBoundsUs};
    // From the job leaving netproc until the helper's answer (success or
    // failure): the helper's work plus the channel, measured by netproc.
    LatencyHistogram handshake_helper_time{kLatencyBoundsUs};
    RecordSizeHistogram record_sizes{kRecordSizeBounds};

    // The supervisor's report (NP_SUPERVISOR_STATS); none before the first.
    bool have_supervisor = false;
    ipc::NpSupervisorStats supervisor;

    // The endpoint itself.
    uint64_t scrapes = 0;           // 200 answers
    uint64_t bad_requests = 0;      // 400/404/405/431 answers
    uint64_t timeouts = 0;          // 408: no full request within the deadline
    uint64_t clients_rejected = 0;  // closed at accept: too many at once
    uint64_t last_render_us = 0;    // what the last exposition took to build
};

}  // namespace tlsward::netproc
