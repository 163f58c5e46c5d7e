// What is sent to netproc and to a helper for a configuration. Each child
// stages what it gets until the closing *_CONFIG_DONE and then answers
// READY{generation}.
//   netproc:  NP_SERVICE per service, NP_LISTENER per socket (with the fd),
//             NP_METRICS_LISTENER (the endpoint's socket, if any), NP_HELPER
//             per helper to connect (a fresh netproc's), NP_CONFIG_DONE.
//   a helper: per service CP_SERVICE, CP_CERTIFICATE per chain and key,
//             CP_TRUST; CP_TICKET_KEYS; CP_CONFIG_DONE.
#pragma once

#include <vector>

#include "ipc/tls_settings.hpp"
#include "ipc/uv_channel.hpp"
#include "supervisor/child_table.hpp"
#include "supervisor/generations.hpp"

namespace tlsward::supervisor {

// `g` to netproc, connecting each of `connect` to it on the way.
void push_netproc_config(ipc::UvChannel& netproc, const Generation& g,
                         const std::vector<Child*>& connect);

// `config` to helper h (its generation and slot close it). `ticket_keys`:
// the keys in force, if there are any yet.
void push_helper_config(Child& h, const PreparedConfig& config,
                        const ipc::CpTicketKeys* ticket_keys);

// New ticket keys (rotation, a changed key file, a reload) to every helper
// that is reachable; one that starts later gets them with its
// configuration.
void push_ticket_keys(ChildTable& children, const ipc::CpTicketKeys& keys);

// A helper and netproc talk over their own socketpair: one end to the
// helper (CP_NETPROC_CHANNEL), the other to netproc (NP_HELPER{slot,
// generation}).
void connect_helper(Child& h, ipc::UvChannel& netproc);

}  // namespace tlsward::supervisor
