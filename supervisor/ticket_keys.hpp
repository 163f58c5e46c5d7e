// Session ticket master keys: the supervisor is their only source, so every
// helper (and every restarted helper) seals and opens the same tickets.
//
// - Generated (default): 80 random bytes at start, a new key every
//   ticket_key_rotation; the newest seals, the older ones open until the
//   session lifetime has passed.
// - From a key file shared by several machines behind one load balancer
//   (HAProxy's tls-ticket-keys / nginx's ssl_session_ticket_key style): one
//   base64 key (48 or 80 bytes) per line. The second-to-last key seals;
//   every listed key opens; the last one is the next key, already accepted
//   everywhere before any machine seals with it. A single key seals. The
//   file is read at start and reload, and checked for changes every
//   minute, so an external rotation needs no reload.
//
// The helpers derive per-service keys from these (cryptoproc/session_tickets).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/uv_handles.hpp"
#include "ipc/tls_settings.hpp"
#include "supervisor/config.hpp"

namespace tlsward::supervisor {

// Parses a key file's text; errors name the file and line.
Result<ipc::CpTicketKeys> parse_ticket_key_file(std::string_view text, const std::string& path);
// Reads and parses a key file (at most 64 KiB).
Result<ipc::CpTicketKeys> read_ticket_key_file(const std::string& path);
// A fresh random 80-byte key.
Result<SecretBytes> random_ticket_key();

// Keeps the current keys, rotates generated ones, follows a key file, and
// hands every change to `publish` (which sends CP_TICKET_KEYS to helpers).
class TicketKeySource {
public:
    using Publish = std::function<void(const ipc::CpTicketKeys&)>;
    TicketKeySource(uv_loop_t* loop, Publish publish);
    ~TicketKeySource();
    TicketKeySource(const TicketKeySource&) = delete;
    TicketKeySource& operator=(const TicketKeySource&) = delete;

    // Start or reload. With a key file, `from_file` is what prepare_config
    // read (the keys in force from now on); without one, the generated
    // keys carry on over a reload (tickets stay valid) and only the
    // rotation settings change. Publishes when the keys changed.
    Status configure(const GlobalConfig& global, const ipc::CpTicketKeys* from_file);
    const ipc::CpTicketKeys& current() const { return keys_; }
    bool ready() const { return !keys_.keys.empty(); }

private:
    void on_timer();
    void rotate();
    void check_file();

    Publish publish_;
    UvTimer timer_;
    ipc::CpTicketKeys keys_;
    std::string file_;  // empty: generated
    size_t keep_ = 3;   // generated keys kept (the newest seals)
    uint64_t rotation_ms_ = 0;
    bool generated_ = false;
    // The key file as last read, to notice a change.
    struct stat file_stat_ {};
    bool file_failed_ = false;
};

}  // namespace tlsward::supervisor
