// libFuzzer target: post-handshake messages (netproc/post_handshake.cpp)
// without the encryption around them, so the fuzzer reaches the
// reassembly and the per-message rules directly. Byte 0 picks the version
// (bit 0: TLS 1.3) and our role (bit 1: server); then records, each
// `len u8` and `len` bytes of handshake content. Invariants: a message is
// never longer than the cap, a body stays inside the record or the
// reassembly buffer, and an error is final for the record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/tls_suites.hpp"
#include "netproc/post_handshake.hpp"

using namespace tlsward;
using namespace tlsward::netproc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    PostHandshakeRules rules{(data[0] & 1) ? kTls13 : kTls12, (data[0] & 2) != 0};
    std::span<const uint8_t> in(data + 1, size - 1);
    HandshakeReassembler reassembler;
    while (!in.empty()) {
        size_t n = std::min<size_t>(in[0], in.size() - 1);
        auto record = in.subspan(1, n);
        in = in.subspan(1 + n);
        if (record.empty()) continue;  // the record layer refuses empty ones
        reassembler.start_record(record);
        for (int guard = 0;; ++guard) {
            if (guard > 1000) std::abort();  // next() must use the record up
            uint8_t type = 0;
            std::span<const uint8_t> body;
            PostHandshakeError e;
            auto step = reassembler.next(rules, type, body, e);
            if (step == HandshakeReassembler::Step::error) return 0;  // connection over
            if (step == HandshakeReassembler::Step::record_done) break;
            if (body.size() > kMaxPostHandshakeMessage) std::abort();
            volatile uint8_t sink = 0;
            for (uint8_t b : body) sink = sink ^ b;  // every byte must be readable
            PostHandshakeRules::Verdict v;
            if (!rules.classify(type, body, v, e)) return 0;
        }
    }
    return 0;
}
