#include "supervisor/restart_backoff.hpp"

#include <algorithm>

namespace tlsward::supervisor {

void RestartBackoff::exited_after(uint64_t up_ms) {
    if (up_ms >= kHealthyAfterMs) failures_ = 0;
}

uint64_t RestartBackoff::next_delay_ms() {
    ++failures_;
    uint64_t delay = kFirstDelayMs;
    for (unsigned i = 1; i < failures_ && delay < kMaxDelayMs; ++i) delay *= 2;
    return std::min(delay, kMaxDelayMs);
}

}  // namespace tlsward::supervisor
