// How much plaintext goes into the next record towards a TLS peer. A record
// is only decryptable once all of it has arrived, so a burst starts with
// records that fit one TCP segment (the first bytes of a response are
// usable at once), grows to full 16 KiB records once the burst has moved
// `boost_after` bytes (bulk transfer: fewer records, less overhead), and
// starts small again after a pause. A fixed size turns this off.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ipc/messages.hpp"

namespace tlsward::netproc {

// A record that fits one TCP segment: Ethernet's 1500-byte MTU less IP and
// TCP headers with timestamps leaves 1448; 1400 leaves room for IPv6 and
// tunnels.
constexpr size_t kSegmentRecordBytes = 1400;

class RecordSizer {
public:
    explicit RecordSizer(const ipc::LinkSettings& link) : link_(&link) {}

    // Plaintext for the next record. overhead: what the record adds on the
    // wire; max_plaintext: the record layer's limit.
    size_t next(uint64_t now_ms, size_t overhead, size_t max_plaintext);
    // `n` plaintext bytes were sealed at now_ms.
    void sent(size_t n, uint64_t now_ms);

    uint64_t burst_bytes() const { return burst_; }

private:
    const ipc::LinkSettings* link_;
    uint64_t burst_ = 0;
    uint64_t last_ms_ = 0;
};

}  // namespace tlsward::netproc
