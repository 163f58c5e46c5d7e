// The result of one run: settings, figures with units, notes. Printed as a
// table for people or, with --json, as one JSON object:
//   {"tool": "tlsward-bench", "mode": "...", "config": {...},
//    "results": {"key": number, ...}, "units": {"key": "unit", ...},
//    "notes": ["...", ...]}
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tlsward::bench {

class Report {
public:
    explicit Report(std::string mode) : mode_(std::move(mode)) {}

    void config(const std::string& key, const std::string& value);
    void config(const std::string& key, double value);
    // Starts a group of rows in the table (no effect on the JSON keys).
    void section(const std::string& title);
    void metric(const std::string& key, double value, const std::string& unit,
                const std::string& label);
    void note(const std::string& text);

    void print_table(FILE* out) const;
    void print_json(FILE* out) const;

private:
    struct Row {
        std::string key;
        double value;
        std::string unit;
        std::string label;
        std::string section;  // non-empty: a heading row
    };
    struct Config {
        std::string key;
        std::string text;
        double number;
        bool is_number;
    };
    std::string mode_;
    std::vector<Config> config_;
    std::vector<Row> rows_;
    std::vector<std::string> notes_;
};

std::string json_escape(const std::string& s);

// One note per distinct error: "12 x connect: connection refused".
void note_errors(Report& r, const std::string& what, const std::map<std::string, uint64_t>& errors);

}  // namespace tlsward::bench
