// The logfmt dialect of tlsward's log lines (docs/operations.md, "Logs"):
//
//   line   = pair *(" " pair)
//   pair   = key "=" value
//   key    = [a-z] *[a-z0-9_]
//   value  = bare / quoted
//   bare   = *(printable ASCII other than space, '"', '=' and '\')
//   quoted = '"' *(any valid UTF-8 but '"', '\' and controls / escape) '"'
//   escape = '\"' / '\\' / '\n' / '\r' / '\t' / '\x' 2HEXDIG
//
// A line is valid UTF-8 and one line: every byte a peer or a file could
// put in a value (a quote, a backslash, a newline, a byte that is not
// UTF-8, a C1 or bidi control that would reorder what a terminal shows)
// is written as an escape, and reading it back gives the same bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tlsward::logfmt {

// `value` between double quotes, escaped as above.
void append_quoted(std::string& out, std::string_view value);
// `value` bare when the grammar allows it (non-empty, printable ASCII
// without space, '"', '=' or '\'), quoted otherwise.
void append_value(std::string& out, std::string_view value);
std::string value(std::string_view value);

// Text outside any value: printable ASCII and valid UTF-8 kept, other
// bytes escaped as \xNN (keeps a line one line of UTF-8 whatever it holds).
void append_text(std::string& out, std::string_view text);

struct Field {
    std::string key;
    std::string value;  // unescaped: the bytes that were written
};

// Every pair of a line that follows the grammar exactly; false (and
// `out` as far as it got) at the first deviation.
bool parse(std::string_view line, std::vector<Field>& out);

// The pairs of any line: words that are not a pair (free text, keys out of
// the grammar, a broken quoted value) are skipped. For lines that did not
// come through log_write (tests, other writers).
std::vector<Field> parse_lenient(std::string_view line);

}  // namespace tlsward::logfmt
