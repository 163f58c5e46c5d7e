// The measuring equipment runs ahead of the load: the ping thread, so the
// client's own flood threads do not show up as the server's latency, and
// the ping test's echo backend, so its wake-ups are not counted as the
// server's either (in a real deployment the service behind the front is
// not scheduled against a load generator).
#pragma once

namespace tlsward::bench {

// SCHED_FIFO for the calling thread, when allowed (root, or
// RLIMIT_RTPRIO). Returns 0, or the errno of the refusal: the caller says
// so and goes on at normal priority.
int enter_measuring_priority();

}  // namespace tlsward::bench
