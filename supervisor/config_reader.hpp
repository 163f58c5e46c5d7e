// Reading values of a tlsward.toml document (config_document.hpp) into the
// model: the type and range checks every key shares, each reporting "what
// must be ..., got X" at the value's own position. The key table
// (config_keys.cpp) calls these; the loader (config_loader.cpp) collects the
// problems and reports them in file order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "supervisor/config.hpp"
#include "supervisor/config_document.hpp"

namespace tlsward::supervisor {

// Every problem found in one file, each with its position; reported all at
// once, one "SOURCE:LINE: text" per line, in file order (line, then column,
// then the order they were found in).
class ConfigProblems {
public:
    explicit ConfigProblems(std::string source) : source_(std::move(source)) {}
    void add(SourcePosition at, std::string text);
    bool empty() const { return problems_.empty(); }
    Error error() const;
    // "SOURCE:LINE: " (or "SOURCE: " without a line).
    std::string location(int line) const;

private:
    struct Problem {
        SourcePosition at;
        std::string text;
    };
    std::string source_;
    std::vector<Problem> problems_;
};

// Where the key being read stores its value: the table's struct (and, for
// cert/key/ocsp, the certificate they describe).
struct KeyTarget {
    GlobalConfig* global = nullptr;
    MetricsConfig* metrics = nullptr;
    ServiceConfig* service = nullptr;
    CertificateFiles* certificate = nullptr;
};

// What earlier services took that a later one may not take again.
struct TakenByServices {
    std::map<std::string, int> names;                            // name -> line
    std::map<std::string, std::pair<std::string, int>> listens;  // address -> (service, line)
};

// One string of a list, with where it was written.
struct PlacedString {
    std::string text;
    SourcePosition at;
};

class ValueReader {
public:
    ValueReader(ConfigProblems& problems, std::string base_dir, TakenByServices& taken)
        : problems_(problems), base_dir_(std::move(base_dir)), taken_(taken) {}

    KeyTarget target;
    // Names the table in messages: "global: ", "service \"web\": ",
    // "service \"web\": certificate: ".
    std::string prefix;

    TakenByServices& taken() { return taken_; }
    void fail(SourcePosition at, std::string text) { problems_.add(at, std::move(text)); }

    // Each reports its own problem ("WHAT must be ..., got X") at the
    // value's position and returns false; `what` is prefix + key.
    bool string(const ConfigNode& n, const std::string& what, std::string& out);
    bool integer(const ConfigNode& n, const std::string& what, int64_t min, int64_t max,
                 int64_t& out);
    // Integer seconds or "500ms" / "10s" / "2m" / "1h". With allow_zero, 0
    // is accepted whatever min says (it means "none").
    bool duration(const ConfigNode& n, const std::string& what, uint64_t min, uint64_t max,
                  bool allow_zero, uint32_t& out);
    // A byte count: an integer or "64KiB" / "10MB"; 0 (none) always passes.
    bool size(const ConfigNode& n, const std::string& what, uint64_t min, uint64_t max,
              uint64_t& out);
    bool boolean(const ConfigNode& n, const std::string& what, bool& out);
    // A string or a non-empty array of strings.
    bool strings(const ConfigNode& n, const std::string& what, std::vector<PlacedString>& out);
    // A non-empty string, resolved by resolve_path.
    bool path(const ConfigNode& n, const std::string& what, std::string& out);
    // Relative to the file's directory; "credential:NAME" is a systemd
    // credential (supervisor/credentials.hpp).
    Result<std::string> resolve_path(const std::string& p) const;

private:
    ConfigProblems& problems_;
    std::string base_dir_;
    TakenByServices& taken_;
};

}  // namespace tlsward::supervisor
