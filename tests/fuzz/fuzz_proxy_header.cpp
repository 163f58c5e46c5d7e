// libFuzzer target: the PROXY protocol parser netproc runs on the first
// bytes of a connection from a load balancer (accept_proxy). Whatever it
// accepts must fit the input, and re-encoding its addresses must parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "netproc/proxy_protocol.hpp"

using namespace tlsward::netproc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    auto r = proxy::parse(in);
    if (!r || !r->has_value()) return 0;
    const proxy::Header& h = **r;
    if (h.length == 0 || h.length > size || h.length > proxy::kMaxHeader) std::abort();
    if (!h.local) {
        auto again = proxy::parse(proxy::encode_v2(h.source, h.destination, nullptr));
        if (!again || !again->has_value()) std::abort();
    }
    return 0;
}
