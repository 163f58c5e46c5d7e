// The documentation names every key of the key table and every option of
// the command line, in the right place: docs/configuration.md (a table row
// under the key's section), tlsward.toml(5) (in bold under the section's
// .SH), tlsward(8) and `tlsward help` (every option). Adding a key or a
// flag without documenting it fails here.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "supervisor/command_line.hpp"
#include "supervisor/config_keys.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

std::string read_source(const std::string& relative) {
    std::ifstream f(std::string(TLSWARD_SOURCE_DIR) + "/" + relative);
    REQUIRE(f.good());
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) out.push_back(l);
    return out;
}

// docs/configuration.md: the first cell of each table row, by the level-2
// heading ("## ...") it stands under.
struct MarkdownRows {
    std::vector<std::pair<std::string, std::string>> rows;  // (heading, first cell)

    explicit MarkdownRows(const std::string& text) {
        std::string heading;
        for (const std::string& l : lines_of(text)) {
            if (l.rfind("## ", 0) == 0) heading = l.substr(3);
            if (l.size() < 2 || l[0] != '|') continue;
            size_t end = l.find('|', 1);
            if (end != std::string::npos) rows.emplace_back(heading, l.substr(1, end - 1));
        }
    }
    // A row whose first cell names `key` (as `key`) under a heading that
    // contains one of `headings`.
    bool has(const std::string& key, const std::vector<std::string>& headings) const {
        for (const auto& [heading, cell] : rows)
            for (const std::string& h : headings)
                if (heading.find(h) != std::string::npos &&
                    cell.find("`" + key + "`") != std::string::npos)
                    return true;
        return false;
    }
};

std::string unescape_roff(std::string s) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"\\-", "-"}, {"\\(dq", "\""}}) {
        for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at))
            s.replace(at, from.size(), to);
    }
    return s;
}

// Arguments of a roff macro line, quoted ones kept together.
std::vector<std::string> roff_args(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false, any = false;
    for (char c : line) {
        if (c == '"') {
            quoted = !quoted;
            any = true;
        } else if (c == ' ' && !quoted) {
            if (any) out.push_back(cur);
            cur.clear();
            any = false;
        } else {
            cur += c;
            any = true;
        }
    }
    if (any) out.push_back(cur);
    return out;
}

// A man page: the words set in bold (.B, .BR, .BI, .RB, .IB), by the .SH
// section they stand in.
struct ManPage {
    std::vector<std::pair<std::string, std::string>> bold;  // (section, word)
    std::vector<std::string> sections;

    explicit ManPage(const std::string& text) {
        std::string section;
        for (const std::string& raw : lines_of(text)) {
            std::string l = unescape_roff(raw);
            if (l.rfind(".SH ", 0) == 0) {
                section = l.substr(4);
                sections.push_back(section);
                continue;
            }
            std::vector<std::string> args = roff_args(l);
            if (args.empty()) continue;
            const std::string& macro = args[0];
            // Which arguments are bold: all of .B, the odd ones of .BR/.BI,
            // the even ones of .RB/.IB.
            int first = macro == ".BR" || macro == ".BI"   ? 1
                        : macro == ".RB" || macro == ".IB" ? 2
                                                           : 0;
            if (macro == ".B") first = 1;
            if (first == 0) continue;
            for (size_t i = static_cast<size_t>(first); i < args.size(); i += macro == ".B" ? 1 : 2)
                bold.emplace_back(section, args[i]);
        }
    }
    bool has_bold(const std::string& word, const std::string& in_section) const {
        for (const auto& [section, w] : bold)
            if ((in_section.empty() || section == in_section) && w == word) return true;
        return false;
    }
    bool has_section(const std::string& name) const {
        return std::find(sections.begin(), sections.end(), name) != sections.end();
    }
};

// Where docs/configuration.md documents a section's keys.
std::vector<std::string> markdown_headings(Section s) {
    switch (s) {
        case Section::global:
            return {"`[global]`"};
        case Section::metrics:
            return {"`[metrics]`"};
        case Section::service:
        case Section::certificate:
            return {"`[[service]]`", "TLS options"};
        case Section::top:
            break;
    }
    return {};
}

// `flag` as a whole word of `text`: "--key" in "--key FILE", not in
// "--key-update-bytes".
bool mentions(const std::string& text, const std::string& flag) {
    for (size_t at = text.find(flag); at != std::string::npos; at = text.find(flag, at + 1)) {
        size_t end = at + flag.size();
        char next = end < text.size() ? text[end] : ' ';
        bool word = (next >= 'a' && next <= 'z') || (next >= '0' && next <= '9') || next == '-';
        if (!word) return true;
    }
    return false;
}

constexpr Section kSections[] = {Section::global, Section::metrics, Section::service,
                                 Section::certificate};

}  // namespace

TEST_CASE("docs/configuration.md and tlsward.toml(5) name every key", "[config][docs]") {
    MarkdownRows md(read_source("docs/configuration.md"));
    ManPage man(read_source("packaging/man/tlsward.toml.5"));
    std::string md_text = read_source("docs/configuration.md");
    size_t checked = 0;
    for (const KeySpec& k : config_keys()) {
        if (k.in(Section::top)) {
            // A table of its own: a heading in both.
            std::string heading = k.name == "service" ? "[[service]]" : "[" + k.name + "]";
            INFO("table " << heading);
            CHECK(md_text.find("## `" + heading + "`") != std::string::npos);
            CHECK(man.has_section(heading));
            ++checked;
            continue;
        }
        for (Section s : kSections) {
            if (!k.in(s)) continue;
            INFO("key " << k.name << " in " << section_heading(s));
            CHECK(md.has(k.name, markdown_headings(s)));
            CHECK(man.has_bold(k.name, section_heading(s)));
            ++checked;
        }
    }
    CHECK(checked > 60);
}

TEST_CASE("tlsward help, tlsward(8) and docs/configuration.md name every option",
          "[config][docs]") {
    std::string usage = usage_text();
    std::string md = read_source("docs/configuration.md");
    ManPage man(read_source("packaging/man/tlsward.8"));
    std::vector<std::string> options = command_line_options();
    CHECK(options.size() > 40);
    for (const std::string& o : options) {
        INFO("option " << o);
        CHECK(mentions(usage, o));
        CHECK(mentions(md, o));
        CHECK(man.has_bold(o, ""));
    }
}
