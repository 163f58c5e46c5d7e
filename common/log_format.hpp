// printf for log lines: the format is a logfmt line (common/logfmt.hpp)
// with conversions in it, and every string a conversion puts in a value is
// escaped for the place it lands, so no call site can forget to:
//
//   key=\"...%s...\"   inside quotes: '"', '\', controls and bytes that
//                      are not UTF-8 escaped (\" \\ \n \xNN ...)
//   key=%s, key=a:%s   a bare value: written bare if the whole value may
//                      be, otherwise quoted and escaped
//   %s at a word start a fragment of pairs the program made itself (e.g.
//                      " suppressed=3"): copied, controls and bytes that
//                      are not UTF-8 escaped; values in it must have gone
//                      through logfmt::value()
//
// Numbers are written as printf writes them. tests/integration/
// test_log_format.py checks every format string in the tree against these
// rules (and that fragments are only ones the program made).
#pragma once

#include <cstdarg>
#include <string>

namespace tlsward {

std::string log_format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string log_vformat(const char* fmt, va_list ap);

}  // namespace tlsward
