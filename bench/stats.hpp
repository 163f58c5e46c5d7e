// Latency samples and their summary (percentiles by nearest rank).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsward::bench {

struct LatencySummary {
    uint64_t count = 0;
    double mean_ms = 0;
    double p50_ms = 0;
    double p90_ms = 0;
    double p99_ms = 0;
    double p999_ms = 0;
    double max_ms = 0;
};

// Collects durations in nanoseconds. Not thread-safe: one per thread, then merge().
class LatencyRecorder {
public:
    void add_ns(uint64_t ns) { samples_.push_back(ns); }
    void merge(const LatencyRecorder& other);
    size_t count() const { return samples_.size(); }
    LatencySummary summarize() const;
    void reserve(size_t n) { samples_.reserve(n); }

private:
    std::vector<uint64_t> samples_;
};

// The value at quantile q (0..1) of sorted samples, nearest rank.
uint64_t quantile_sorted(const std::vector<uint64_t>& sorted, double q);

}  // namespace tlsward::bench
