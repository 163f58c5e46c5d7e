#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>

namespace tlsward::bench {

void LatencyRecorder::merge(const LatencyRecorder& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
}

uint64_t quantile_sorted(const std::vector<uint64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    // Nearest rank: the smallest sample with at least q of all samples at or below it.
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    if (rank == 0) rank = 1;
    return sorted[std::min(rank, sorted.size()) - 1];
}

LatencySummary LatencyRecorder::summarize() const {
    LatencySummary s;
    if (samples_.empty()) return s;
    std::vector<uint64_t> sorted = samples_;
    std::sort(sorted.begin(), sorted.end());
    auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
    long double sum = 0;
    for (uint64_t v : sorted) sum += v;
    s.count = sorted.size();
    s.mean_ms = static_cast<double>(sum / sorted.size()) / 1e6;
    s.p50_ms = ms(quantile_sorted(sorted, 0.50));
    s.p90_ms = ms(quantile_sorted(sorted, 0.90));
    s.p99_ms = ms(quantile_sorted(sorted, 0.99));
    s.p999_ms = ms(quantile_sorted(sorted, 0.999));
    s.max_ms = ms(sorted.back());
    return s;
}

}  // namespace tlsward::bench
