// The modes of tlsward-bench, one file each (mode_*.cpp, backend.cpp).
// Each fills the report; an error ends the run with a message.
#pragma once

#include "bench/options.hpp"
#include "bench/report.hpp"
#include "common/result.hpp"

namespace tlsward::bench {

Status run_handshakes(const Options& o, Report& r);
Status run_throughput(const Options& o, Report& r);
Status run_ping(const Options& o, Report& r);
Status run_idle(const Options& o, Report& r);
Status run_soak(const Options& o, Report& r);
// OpenSSL's own cost per full handshake here (no sockets): mode_openssl.cpp.
Status run_openssl(const Options& o, Report& r);
// Runs until SIGINT/SIGTERM.
Status run_backend(const Options& o);

// Settings every client mode reports.
void report_client_config(const Options& o, Report& r);

}  // namespace tlsward::bench
