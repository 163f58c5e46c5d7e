// What "tlsward status" shows, systemd's STATUS= line, and their rendering.
// The supervisor fills a StatusReport from its own state and netproc's last
// NP_STATUS; the rendering is pure (unit-tested). The JSON form is an
// interface: keys are only ever added (docs/operations.md lists them).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/messages.hpp"

namespace tlsward::supervisor {

struct ProcessReport {
    std::string role;  // "netproc" or "crypto"
    std::string name;  // "netproc", "crypto[0]"
    pid_t pid = 0;     // 0: not running (restart pending)
    uint32_t slot = 0;
    uint32_t generation = 0;
    // "ready", "starting", "down" (restart pending), "pending" (a reload's
    // helper, not in use yet), "retiring" (an older generation finishing).
    std::string state;
    uint64_t restarts = 0;
    uint64_t uptime_ms = 0;
};

struct ServiceReport {
    uint32_t id = 0;
    std::string name;
    std::string mode;                 // "server" or "client"
    std::vector<std::string> listen;  // addresses as bound
    size_t certificates = 0;
    // netproc's counts for it; absent before its first report.
    std::optional<ipc::NpServiceStatus> live;
};

struct StatusReport {
    std::string version;
    pid_t pid = 0;
    uint64_t uptime_ms = 0;
    std::string state;  // "starting", "running", "reloading", "stopping"
    std::string config_source;
    uint32_t generation = 0;
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
    std::string last_reload_error;  // empty: none
    std::vector<ProcessReport> processes;
    // netproc's last report, and how old it is; absent before the first.
    std::optional<ipc::NpStatus> netproc;
    uint64_t netproc_report_age_ms = 0;
    double handshakes_per_second = 0;
    std::string metrics_listen;  // the metrics endpoint as bound; empty: off
    std::vector<ServiceReport> services;
};

std::string render_status_text(const StatusReport& r);
std::string render_status_json(const StatusReport& r);
// One line for systemd's STATUS=.
std::string render_status_line(const StatusReport& r);
// A JSON string literal (quotes included), escaped per RFC 8259.
std::string json_string(const std::string& s);

}  // namespace tlsward::supervisor
