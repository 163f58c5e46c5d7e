#include "bench/report.hpp"

#include <cmath>

#include "common/result.hpp"

namespace tlsward::bench {
namespace {

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    return strfmt("%.10g", v);
}

std::string human_number(double v) {
    if (!std::isfinite(v)) return "n/a";
    double a = std::fabs(v);
    if (a >= 1e5 || v == std::floor(v)) return strfmt("%.0f", v);
    if (a >= 100) return strfmt("%.1f", v);
    if (a >= 1) return strfmt("%.2f", v);
    return strfmt("%.3g", v);
}

}  // namespace

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += strfmt("\\u%04x", static_cast<unsigned>(c));
                else
                    out += c;
        }
    }
    return out;
}

void Report::config(const std::string& key, const std::string& value) {
    for (Config& c : config_)
        if (c.key == key) return void(c = {key, value, 0, false});
    config_.push_back({key, value, 0, false});
}

void Report::config(const std::string& key, double value) {
    for (Config& c : config_)
        if (c.key == key) return void(c = {key, "", value, true});
    config_.push_back({key, "", value, true});
}

void Report::section(const std::string& title) {
    rows_.push_back({"", 0, "", "", title});
}

void Report::metric(const std::string& key, double value, const std::string& unit,
                    const std::string& label) {
    rows_.push_back({key, value, unit, label, ""});
}

void Report::note(const std::string& text) {
    notes_.push_back(text);
}

void Report::print_table(FILE* out) const {
    std::fprintf(out, "tlsward-bench %s\n", mode_.c_str());
    for (const Config& c : config_)
        std::fprintf(out, "  %-22s %s\n", c.key.c_str(),
                     c.is_number ? human_number(c.number).c_str() : c.text.c_str());
    for (const Row& r : rows_) {
        if (!r.section.empty()) {
            std::fprintf(out, "\n%s\n", r.section.c_str());
            continue;
        }
        std::fprintf(out, "  %-44s %14s %s\n", r.label.c_str(), human_number(r.value).c_str(),
                     r.unit.c_str());
    }
    if (!notes_.empty()) std::fprintf(out, "\n");
    for (const std::string& n : notes_) std::fprintf(out, "note: %s\n", n.c_str());
}

void Report::print_json(FILE* out) const {
    std::string s = "{\"tool\": \"tlsward-bench\", \"mode\": \"" + json_escape(mode_) + "\"";
    s += ", \"config\": {";
    for (size_t i = 0; i < config_.size(); ++i) {
        const Config& c = config_[i];
        s += (i ? ", \"" : "\"") + json_escape(c.key) + "\": ";
        s += c.is_number ? json_number(c.number) : "\"" + json_escape(c.text) + "\"";
    }
    s += "}, \"results\": {";
    bool first = true;
    for (const Row& r : rows_) {
        if (!r.section.empty()) continue;
        s += (first ? "\"" : ", \"") + json_escape(r.key) + "\": " + json_number(r.value);
        first = false;
    }
    s += "}, \"units\": {";
    first = true;
    for (const Row& r : rows_) {
        if (!r.section.empty()) continue;
        s += (first ? "\"" : ", \"") + json_escape(r.key) + "\": \"" + json_escape(r.unit) + "\"";
        first = false;
    }
    s += "}, \"notes\": [";
    for (size_t i = 0; i < notes_.size(); ++i)
        s += (i ? ", \"" : "\"") + json_escape(notes_[i]) + "\"";
    s += "]}\n";
    std::fputs(s.c_str(), out);
}

void note_errors(Report& r, const std::string& what,
                 const std::map<std::string, uint64_t>& errors) {
    for (const auto& [text, n] : errors)
        r.note(strfmt("%s: %llu x %s", what.c_str(), static_cast<unsigned long long>(n),
                      text.c_str()));
}

}  // namespace tlsward::bench
