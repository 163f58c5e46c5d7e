"""A strict parser for tlsward's log lines (the grammar in common/logfmt.hpp
and docs/operations.md, "Logs"), written here because Debian packages no
logfmt parser for Python. It accepts exactly what tlsward promises and
nothing more, so a test that parses every line catches any line that
would mislead a looser parser:

    line   = pair *(" " pair)
    pair   = key "=" value
    key    = [a-z] *[a-z0-9_]
    value  = bare / quoted
    bare   = *(printable ASCII but space, '"', '=' and '\\')
    quoted = '"' *(UTF-8 but '"', '\\' and controls / escape) '"'
    escape = '\\"' / '\\\\' / '\\n' / '\\r' / '\\t' / '\\x' 2HEXDIG

Lines are bytes; values come back as bytes (a \\xNN escape may stand for
a byte that is not UTF-8 on its own)."""

import re

_KEY = re.compile(rb"[a-z][a-z0-9_]*=")
_BARE = re.compile(rb"[!#-<>-\[\]-~]*")  # 0x21..0x7e but '"', '=' and '\'
_PLAIN = re.compile(rb'[^"\\\x00-\x1f\x7f]+')
_ESCAPES = {b'"': b'"', b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t"}
_HEX = re.compile(rb"[0-9a-fA-F]{2}")
# What a terminal or a reader would not see as written: C1 controls, line
# and paragraph separators, bidi controls. tlsward escapes them.
_INVISIBLE = re.compile("[\u0080-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class ParseError(ValueError):
    pass


def parse(line):
    """[(key, value)] of `line` (bytes or str), values as bytes; raises
    ParseError, naming the place, at the first deviation from the grammar."""
    if isinstance(line, str):
        line = line.encode()
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError("not UTF-8 at byte %d: %r" % (e.start, line)) from None
    if _INVISIBLE.search(text):
        raise ParseError("an unescaped invisible control character: %r" % line)
    pairs = []
    i = 0
    n = len(line)
    while True:
        m = _KEY.match(line, i)
        if not m:
            raise ParseError("no key=value at byte %d: %r" % (i, line))
        key = line[i:m.end() - 1].decode()
        i = m.end()
        if i < n and line[i:i + 1] == b'"':
            i += 1
            value = bytearray()
            while True:
                if i >= n:
                    raise ParseError("unterminated quoted value of %s: %r" % (key, line))
                c = line[i:i + 1]
                if c == b'"':
                    i += 1
                    break
                if c == b"\\":
                    e = line[i + 1:i + 2]
                    if e in _ESCAPES:
                        value += _ESCAPES[e]
                        i += 2
                    elif e == b"x" and _HEX.fullmatch(line[i + 2:i + 4]):
                        value.append(int(line[i + 2:i + 4], 16))
                        i += 4
                    else:
                        raise ParseError("bad escape in %s at byte %d: %r" % (key, i, line))
                    continue
                m = _PLAIN.match(line, i)
                if not m:
                    raise ParseError("a control byte in %s at byte %d: %r" % (key, i, line))
                value += m.group(0)
                i = m.end()
            value = bytes(value)
        else:
            m = _BARE.match(line, i)
            value = m.group(0)
            i = m.end()
        pairs.append((key, value))
        if i == n:
            return pairs
        if line[i:i + 1] != b" ":
            raise ParseError("%r after the value of %s at byte %d: %r"
                             % (line[i:i + 1], key, i, line))
        i += 1


def fields(line):
    """{key: value as str (UTF-8, undecodable bytes replaced)} of a line;
    the last one wins for a key given twice."""
    return {k: v.decode("utf-8", "replace") for k, v in parse(line)}


# A line of tlsward on stderr: "<time> <level> <role>[<pid>]: <logfmt>",
# or under systemd "<priority><role>[<pid>]: <logfmt>".
LINE = re.compile(rb"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?:debug|info|warn|error) "
                  rb"|<[0-7]>)([a-z]+(?:\[\d+\])?)\[(\d+)\]: (.*)$")


def split_line(raw):
    """(role, pid, message bytes) of one line tlsward wrote on stderr, or
    None when it is not one."""
    if isinstance(raw, str):
        raw = raw.encode()
    m = LINE.match(raw)
    if not m:
        return None
    return m.group(1).decode(), int(m.group(2)), m.group(3)
