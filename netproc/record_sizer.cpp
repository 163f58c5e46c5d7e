#include "netproc/record_sizer.hpp"

#include <algorithm>

namespace tlsward::netproc {

size_t RecordSizer::next(uint64_t now_ms, size_t overhead, size_t max_plaintext) {
    if (link_->record_size != 0) return std::min<size_t>(link_->record_size, max_plaintext);
    if (burst_ > 0 && now_ms - last_ms_ >= link_->record_idle_reset_ms) burst_ = 0;
    if (burst_ >= link_->record_boost_after) return max_plaintext;
    size_t small = kSegmentRecordBytes > overhead ? kSegmentRecordBytes - overhead : 512;
    return std::min(small, max_plaintext);
}

void RecordSizer::sent(size_t n, uint64_t now_ms) {
    if (burst_ > 0 && now_ms - last_ms_ >= link_->record_idle_reset_ms) burst_ = 0;
    burst_ += n;
    last_ms_ = now_ms;
}

}  // namespace tlsward::netproc
