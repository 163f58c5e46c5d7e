#include "bench/options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>

namespace tlsward::bench {
namespace {

Result<double> to_double(const std::string& name, const std::string& v, double lo, double hi) {
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(v.c_str(), &end);
    if (errno != 0 || end == v.c_str() || *end != '\0' || !(d >= lo && d <= hi))
        return err(ErrorKind::config, "%s: expected a number from %g to %g, got \"%s\"",
                   name.c_str(), lo, hi, v.c_str());
    return d;
}

Result<int> to_int(const std::string& name, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v.c_str(), &end, 10);
    if (errno != 0 || end == v.c_str() || *end != '\0' || n < lo || n > hi)
        return err(ErrorKind::config, "%s: expected an integer from %ld to %ld, got \"%s\"",
                   name.c_str(), lo, hi, v.c_str());
    return static_cast<int>(n);
}

Status parse_pid_list(const std::string& name, const std::string& v, std::vector<pid_t>& out) {
    size_t pos = 0;
    while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        if (comma == std::string::npos) comma = v.size();
        auto n = to_int(name, v.substr(pos, comma - pos), 1, 1 << 30);
        if (!n) return n.error();
        out.push_back(static_cast<pid_t>(*n));
        pos = comma + 1;
    }
    return {};
}

struct Flag {
    const char* name;
    bool takes_value;
    std::function<Status(Options&, const std::string&)> apply;
};

std::vector<Flag> flags() {
    auto dbl = [](double Options::*field, double lo, double hi) {
        return [field, lo, hi](Options& o, const std::string& v) -> Status {
            auto r = to_double("", v, lo, hi);
            if (!r) return r.error();
            o.*field = *r;
            return {};
        };
    };
    auto integer = [](int Options::*field, long lo, long hi) {
        return [field, lo, hi](Options& o, const std::string& v) -> Status {
            auto r = to_int("", v, lo, hi);
            if (!r) return r.error();
            o.*field = *r;
            return {};
        };
    };
    auto str = [](std::string Options::*field) {
        return [field](Options& o, const std::string& v) -> Status {
            o.*field = v;
            return {};
        };
    };
    auto boolean = [](bool Options::*field) {
        return [field](Options& o, const std::string&) -> Status {
            o.*field = true;
            return {};
        };
    };
    return {
        {"--connect", true, str(&Options::address)},
        {"--listen", true, str(&Options::address)},
        {"--tls12", false, boolean(&Options::tls12)},
        {"--cipher", true, str(&Options::cipher)},
        {"--groups", true, str(&Options::groups)},
        {"--sni", true, str(&Options::sni)},
        {"--cert", true, str(&Options::cert_file)},
        {"--key", true, str(&Options::key_file)},
        {"--resume", false, boolean(&Options::resume)},
        {"--request", false, boolean(&Options::request)},
        {"--duration", true, dbl(&Options::duration_s, 0.05, 86400)},
        {"--warmup", true, dbl(&Options::warmup_s, 0, 3600)},
        {"--threads", true, integer(&Options::threads, 1, 256)},
        {"--concurrency", true, integer(&Options::concurrency, 1, 100000)},
        {"--connections", true, integer(&Options::connections, 1, 1000000)},
        {"--direction", true,
         [](Options& o, const std::string& v) -> Status {
             if (v != "up" && v != "down" && v != "both")
                 return err(ErrorKind::config, "expected up, down or both, got \"%s\"", v.c_str());
             o.direction = v;
             return {};
         }},
        {"--interval-ms", true, dbl(&Options::interval_ms, 0.1, 60000)},
        {"--flood", true, integer(&Options::flood, 0, 100000)},
        {"--flood-threads", true, integer(&Options::flood_threads, 1, 256)},
        {"--flood-connect", true, str(&Options::flood_address)},
        {"--size", true,
         [](Options& o, const std::string& v) -> Status {
             auto r = to_int("", v, 16, 16384);
             if (!r) return r.error();
             o.ping_size = static_cast<size_t>(*r);
             return {};
         }},
        {"--settle", true, dbl(&Options::settle_s, 0, 600)},
        {"--pids", true,
         [](Options& o, const std::string& v) { return parse_pid_list("", v, o.pids); }},
        {"--pid-of-supervisor", true,
         [](Options& o, const std::string& v) { return parse_pid_list("", v, o.supervisor_pids); }},
        {"--json", false, boolean(&Options::json)},
        {"--quiet", false, boolean(&Options::quiet)},
        {"--realtime", false, boolean(&Options::realtime)},
    };
}

const std::set<std::string> kModes = {"handshakes", "throughput", "ping",   "idle",
                                      "soak",       "backend",    "openssl"};

}  // namespace

Status parse_address(const std::string& text, sockaddr_storage& out, socklen_t& len) {
    std::string host;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find("]:");
        if (close == std::string::npos)
            return err(ErrorKind::config, "bad address \"%s\"", text.c_str());
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string::npos)
            return err(ErrorKind::config, "bad address \"%s\" (HOST:PORT)", text.c_str());
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    auto p = to_int("port", port, 0, 65535);
    if (!p) return err(ErrorKind::config, "bad port in \"%s\"", text.c_str());
    out = {};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(*p));
        len = sizeof(sockaddr_in);
        return {};
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(*p));
        len = sizeof(sockaddr_in6);
        return {};
    }
    return err(ErrorKind::config, "bad address \"%s\" (numeric IPv4 or [IPv6] only)", text.c_str());
}

Result<Options> parse_options(int argc, char** argv) {
    Options o;
    if (argc < 2) return err(ErrorKind::config, "no mode given");
    o.mode = argv[1];
    if (kModes.count(o.mode) == 0)
        return err(ErrorKind::config, "unknown mode \"%s\"", o.mode.c_str());
    const auto table = flags();
    std::set<std::string> seen;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        std::string name = arg;
        std::string value;
        bool inline_value = false;
        if (size_t eq = arg.find('='); eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        const Flag* flag = nullptr;
        for (const Flag& f : table)
            if (name == f.name) flag = &f;
        if (flag == nullptr) return err(ErrorKind::config, "unknown option %s", name.c_str());
        if (!flag->takes_value && inline_value)
            return err(ErrorKind::config, "%s takes no value", name.c_str());
        if (flag->takes_value && !inline_value) {
            if (i + 1 >= argc) return err(ErrorKind::config, "%s needs a value", name.c_str());
            value = argv[++i];
        }
        if (!seen.insert(name).second)
            return err(ErrorKind::config, "%s is given more than once", name.c_str());
        if (Status s = flag->apply(o, value); !s) return context(name, s.error());
    }

    if (o.mode == "openssl") {
        if (o.cert_file.empty() || o.key_file.empty())
            return err(ErrorKind::config,
                       "openssl needs --cert FILE and --key FILE (the server's, PEM)");
        return o;
    }
    if (!o.cert_file.empty() || !o.key_file.empty())
        return err(ErrorKind::config, "--cert and --key are for the openssl mode");
    if (o.address.empty())
        return err(ErrorKind::config,
                   o.mode == "backend" ? "backend needs --listen ADDR:PORT"
                                       : "%s needs --connect ADDR:PORT",
                   o.mode.c_str());
    if (Status s = parse_address(o.address, o.addr, o.addr_len); !s) return s.error();
    if (o.mode != "backend" && reinterpret_cast<const sockaddr_in*>(&o.addr)->sin_port == 0)
        return err(ErrorKind::config, "--connect needs a port other than 0");
    if (o.flood_address.empty()) {
        o.flood_addr = o.addr;
        o.flood_addr_len = o.addr_len;
    } else if (Status s = parse_address(o.flood_address, o.flood_addr, o.flood_addr_len); !s) {
        return context("--flood-connect", s.error());
    }
    if (o.connections == 0) {
        if (o.mode == "idle")
            o.connections = 1000;
        else if (o.mode == "soak")
            o.connections = 2;
        else
            o.connections = 4;
    }
    if (o.mode == "idle" && o.pids.empty() && o.supervisor_pids.empty())
        return err(ErrorKind::config, "idle needs --pids PID,... or --pid-of-supervisor PID");
    return o;
}

const char* usage_text() {
    return R"(usage: tlsward-bench MODE [OPTIONS]

modes:
  handshakes  new TLS connections for --duration at --concurrency; rate, latency p50/p99
  throughput  bulk transfer over --connections, upload then download; MB/s
  ping        RTT on one connection every --interval-ms: a quiet phase, then
              (with --flood N) a phase with N handshake loops running
  idle        opens --connections, completes their handshakes, holds them idle;
              server memory per connection from /proc (needs --pids or --pid-of-supervisor)
  soak        handshake churn plus bulk transfer for --duration; server fds and RSS
  backend     the plaintext backend the server under test forwards to (--listen)
  openssl     OpenSSL's own CPU per full handshake, client and server in this one
              thread over memory BIOs (no sockets; needs --cert and --key)

options:
  --connect ADDR:PORT       the server under test (numeric; [v6]:port)
  --listen ADDR:PORT        backend mode: where to listen
  --realtime                backend mode: run SCHED_FIFO when allowed (for the ping test,
                            so the backend's own scheduling delays are not the server's)
  --duration S              measured time per phase (default 5)
  --warmup S                load before measuring (default 1)
  --threads N               client event loops, one thread each (default 1)
  --concurrency N           handshakes in flight (default 16)
  --connections N           throughput 4, soak bulk 2, idle 1000
  --direction up|down|both  throughput (default both, one after the other)
  --resume                  handshakes: resume one session (off: every handshake is full)
  --request                 handshakes: one echo round trip through the backend per connection
  --tls12                   TLS 1.2 instead of TLS 1.3
  --cipher LIST             TLS 1.3 suites (or TLS 1.2 cipher list with --tls12)
  --groups LIST             key exchange groups (default X25519:P-256; TLS 1.3 sends an
                            X25519 key share only)
  --sni NAME                server name (default localhost)
  --cert FILE, --key FILE   openssl mode: the server's certificate chain and key
  --interval-ms MS          ping interval (default 5)
  --size BYTES              ping message size (default 16)
  --flood N                 ping: handshake loops during the flood phase (default 0: none)
  --flood-threads N         ping: threads for the flood (default 1)
  --flood-connect ADDR:PORT ping: flood another listener (default --connect)
  --settle S                idle/soak: wait before reading /proc (default 1)
  --pids PID,...            the server's processes (CPU, RSS, Pss, fds)
  --pid-of-supervisor PID   that process and all its descendants
  --json                    one JSON object on stdout instead of the table
  --quiet                   no progress on stderr
)";
}

}  // namespace tlsward::bench
