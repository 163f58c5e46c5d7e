// Private keys the helper does not hold (docs/internals.md, "The signer").
//
// A remote key is an EVP_PKEY of a small OpenSSL 3 provider built into the
// helper (cryptoproc/remote_key_provider.cpp): it carries the certificate's
// public key and an opaque key id, and its signature operation sends the
// message to be signed to the signer instead of signing. libssl cannot tell
// it from a local key: it picks the certificate by it, checks that it
// matches the certificate, and chooses signature algorithms by it.
//
// The signature is asynchronous. The SSL runs with SSL_MODE_ASYNC, so its
// handshake steps run inside an OpenSSL ASYNC job (a fibre of its own on
// the helper's one thread); the provider submits the request and pauses the
// job (ASYNC_pause_job), SSL_do_handshake returns SSL_ERROR_WANT_ASYNC, and
// the helper goes on with its other handshakes. When the answer arrives the
// signer client wakes the handshake through its RemoteSignSlot, and the
// next SSL_do_handshake resumes the job where it paused.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "ipc/sign_messages.hpp"

namespace tlsward::cryptoproc {

// What the provider asks of whoever talks to the signer.
class RemoteSigner {
public:
    // Called once with the signature or why there is none; never from
    // inside submit(), never after cancel().
    using Done = std::function<void(Result<std::vector<uint8_t>>&&)>;

    virtual ~RemoteSigner() = default;
    // Sends (or queues) one request; returns a ticket for cancel().
    virtual uint64_t submit(uint64_t key_id, ipc::SignKind kind, uint16_t scheme,
                            std::span<const uint8_t> message, Done done) = 0;
    // The handshake is going away: its answer, if it comes, is dropped.
    virtual void cancel(uint64_t ticket) = 0;
};

// The process's signer client (null: none; remote keys then fail to sign).
void set_remote_signer(RemoteSigner* signer);
RemoteSigner* remote_signer();

// One signature on its way (shared by the paused job and the completion).
struct PendingSignature {
    uint64_t ticket = 0;
    bool done = false;
    Result<std::vector<uint8_t>> result = Error{ErrorKind::internal, "no answer yet"};
};

// Where a handshake and the provider meet. The owner of an SSL with a
// remote key keeps one per SSL, sets `wake`, and makes it current (Scope)
// around every SSL_do_handshake; the provider finds it there when it
// signs (it is never handed the SSL).
class RemoteSignSlot {
public:
    RemoteSignSlot() = default;
    ~RemoteSignSlot();
    RemoteSignSlot(const RemoteSignSlot&) = delete;
    RemoteSignSlot& operator=(const RemoteSignSlot&) = delete;

    // Makes a slot current on this thread for its lifetime.
    class Scope {
    public:
        explicit Scope(RemoteSignSlot& slot);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        RemoteSignSlot* previous_;
    };
    static RemoteSignSlot* current();

    // Called (from a loop callback) when the answer arrived: drive the
    // handshake again. Set by the owner.
    std::function<void()> wake;

    // A signature is out and its job is paused.
    bool waiting() const { return pending_ && !pending_->done; }
    // Gives up on the signature: the request is cancelled and the paused
    // job, once resumed (one more SSL_do_handshake), fails the signature
    // and ends, which frees its stack. Without that last step a paused
    // job is never given back (SSL_free does not end it).
    void cancel();

    // Why the last signature failed (the signer's answer, a refusal), for
    // the handshake's failure detail; OpenSSL's error says only "EVP lib".
    const std::string& failure() const { return failure_; }

    // The provider's side.
    void begin(std::shared_ptr<PendingSignature> p) { pending_ = std::move(p); }
    void end() { pending_.reset(); }
    void set_failure(std::string why) { failure_ = std::move(why); }

private:
    std::shared_ptr<PendingSignature> pending_;
    std::string failure_;
};

// Ends a handshake whose signature is out (SSL_waiting_for_async): cancels
// the request and resumes the paused job once, so that it fails and ends.
// The owner calls it before SSL_free.
void unwind_remote_sign(SSL* ssl, RemoteSignSlot& slot);

// Registers the provider with the default library context (once; later
// calls do nothing). Algorithm fetches that name no provider still get
// OpenSSL's own implementations: see remote_key_provider.cpp.
Status load_remote_key_provider();

// A key that signs through the signer: `pub` is the certificate's public
// key (RSA, EC P-256/P-384 or Ed25519), `key_id` the signer's id for the
// private key, `kinds` what it may sign (ipc::kServerKinds or kClientKinds).
Result<EvpPkeyPtr> make_remote_key(EVP_PKEY* pub, uint64_t key_id, uint8_t kinds);
// Whether a key is one of ours.
bool is_remote_key(const EVP_PKEY* key);
// The signer's algorithm name for a public key; an error for any other kind.
Result<ipc::KeyAlgorithm> key_algorithm_of(const EVP_PKEY* pub);

}  // namespace tlsward::cryptoproc
