// Command line of tlsward-bench: one struct for every mode's settings
// (each mode reads the fields it needs) and the parser that fills it.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.hpp"

namespace tlsward::bench {

struct Options {
    std::string mode;

    // Where the server under test listens (every client mode), or where the
    // backend listens (backend mode).
    std::string address;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;

    // TLS client settings.
    bool tls12 = false;
    std::string cipher;                   // TLS 1.3 suites, or the TLS 1.2 cipher list with --tls12
    std::string groups = "X25519:P-256";  // key share for X25519 only; P-256 for TLS 1.2 ECDSA
    std::string sni = "localhost";
    bool resume = false;   // handshakes: reuse one session (tickets or IDs)
    bool request = false;  // handshakes: one echo round trip before closing

    // openssl mode: the server's certificate chain and key (PEM).
    std::string cert_file;
    std::string key_file;

    // Load shape.
    double duration_s = 5;
    double warmup_s = 1;
    int threads = 1;
    int concurrency = 16;            // handshakes in flight (handshakes, soak churn)
    int connections = 0;             // throughput/soak bulk: 4 / 2; idle: 1000
    std::string direction = "both";  // throughput: up, down or both
    double interval_ms = 5;          // ping
    int flood = 0;                   // ping: handshake loops in flight during the flood phase
    int flood_threads = 1;
    std::string flood_address;  // ping: where the flood goes (default: --connect)
    sockaddr_storage flood_addr{};
    socklen_t flood_addr_len = 0;
    size_t ping_size = 16;
    double settle_s = 1;  // idle/soak: wait before reading /proc

    // The server's processes, for /proc figures.
    std::vector<pid_t> pids;
    std::vector<pid_t> supervisor_pids;

    bool json = false;
    bool quiet = false;
    bool realtime = false;  // backend: SCHED_FIFO when allowed
};

// Parses argv (argv[1] is the mode). On error the message names the option.
Result<Options> parse_options(int argc, char** argv);

// Parses "HOST:PORT" or "[V6]:PORT" (numeric only; port 0 allowed).
Status parse_address(const std::string& text, sockaddr_storage& out, socklen_t& len);

const char* usage_text();

}  // namespace tlsward::bench
