#include "bench/measuring_priority.hpp"

#include <pthread.h>
#include <sched.h>

namespace tlsward::bench {

namespace {
// Above everything normal; low among real-time threads, so a tlsward with
// netproc_realtime_priority (1 and up) is measured as configured.
constexpr int kPriority = 10;
}  // namespace

int enter_measuring_priority() {
    sched_param sp{};
    sp.sched_priority = kPriority;
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

}  // namespace tlsward::bench
