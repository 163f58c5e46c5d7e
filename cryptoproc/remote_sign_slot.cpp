#include <openssl/err.h>

#include "cryptoproc/remote_key.hpp"

namespace tlsward::cryptoproc {

namespace {
RemoteSigner* g_signer = nullptr;
// The slot of the handshake this thread is driving (RemoteSignSlot::Scope).
thread_local RemoteSignSlot* t_current = nullptr;
}  // namespace

void set_remote_signer(RemoteSigner* signer) {
    g_signer = signer;
}

RemoteSigner* remote_signer() {
    return g_signer;
}

RemoteSignSlot::~RemoteSignSlot() {
    cancel();
}

RemoteSignSlot::Scope::Scope(RemoteSignSlot& slot) : previous_(t_current) {
    t_current = &slot;
}

RemoteSignSlot::Scope::~Scope() {
    t_current = previous_;
}

RemoteSignSlot* RemoteSignSlot::current() {
    return t_current;
}

void RemoteSignSlot::cancel() {
    if (!pending_ || pending_->done) return;
    if (RemoteSigner* s = remote_signer()) s->cancel(pending_->ticket);
    pending_->done = true;
    pending_->result = err(ErrorKind::internal, "the handshake ended while its signature was out");
}

void unwind_remote_sign(SSL* ssl, RemoteSignSlot& slot) {
    bool paused = ssl && SSL_waiting_for_async(ssl) == 1;
    slot.cancel();
    if (!paused) return;
    RemoteSignSlot::Scope scope(slot);
    ERR_set_mark();
    (void)SSL_do_handshake(ssl);
    ERR_pop_to_mark();
}

}  // namespace tlsward::cryptoproc
