// libFuzzer target: the signer's view of a helper's message, an SG_SIGN
// batch decoded and each request checked against a key of each kind and
// algorithm (signer/sign_shape.cpp), as a compromised helper would feed it.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ipc/messages.hpp"
#include "ipc/sign_messages.hpp"
#include "signer/sign_shape.hpp"

using namespace tlsward;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto batch = ipc::decode_body<ipc::SignBatch>(std::span<const uint8_t>(data, size));
    if (!batch) return 0;
    const ipc::KeyAlgorithm algs[] = {ipc::KeyAlgorithm::rsa, ipc::KeyAlgorithm::ec_p256,
                                      ipc::KeyAlgorithm::ec_p384, ipc::KeyAlgorithm::ed25519};
    for (const ipc::SignRequest& q : batch->requests)
        for (ipc::KeyAlgorithm a : algs)
            for (uint8_t kinds : {ipc::kServerKinds, ipc::kClientKinds}) {
                auto s = signer::check_sign_request(q, a, kinds);
                (void)s;
            }
    return 0;
}
