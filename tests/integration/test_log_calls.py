"""Every log call in the tree keeps the promise of docs/operations.md, "Logs":
its format is a literal that starts with event=, reads as logfmt pairs
whatever its conversions hold (common/log_format.hpp escapes each where it
lands), and a conversion outside a value (a fragment, copied as it is) is
only ever one of the few the program builds itself from pairs.

This reads the sources, not a running tlsward: it fails on a call that has
not logged yet (test_log_format.py checks the lines of a run)."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import logfmt  # noqa: E402
from harness import check, log  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
FOLDERS = ("common", "ipc", "netproc", "cryptoproc", "supervisor", "signer")
CALL = re.compile(r"\b(LOG_DEBUG|LOG_INFO|LOG_WARN|LOG_ERROR|log_write)\s*\(")

# Fragments: pairs the program builds from values that went through
# logfmt::value() or are numbers. (file, argument expression).
FRAGMENTS = {
    ("cryptoproc/helper.cpp", "suppressed_tail().c_str()"),
    ("netproc/close_reason.cpp", "tail.c_str()"),
    ("common/sandbox.cpp", "who.c_str()"),
    ("supervisor/main.cpp", "kept->c_str()"),
}

# Calls in files being restructured elsewhere, to be converted once that
# lands: (file, format). An entry that no longer matches a call fails the
# test, so the list only ever shrinks.
PENDING = set()


def calls(path):
    """(line number, macro, [argument texts]) of each log call in a file."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    for m in CALL.finditer(src):
        if path.endswith(os.path.join("common", "log.hpp")):
            continue  # the macros' own definitions
        if src[:m.start()].rstrip().endswith(("void", "::")):
            continue  # a declaration or a qualified name (log.cpp)
        if "//" in src[src.rfind("\n", 0, m.start()) + 1:m.start()]:
            continue  # in a comment
        args, i, depth, cur = [], m.end(), 1, ""
        while depth > 0:
            c = src[i]
            if c in "\"'":
                j = i + 1
                while src[j] != c:
                    j += 2 if src[j] == "\\" else 1
                cur += src[i:j + 1]
                i = j + 1
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    break
            elif c == "," and depth == 1:
                args.append(cur.strip())
                cur = ""
                i += 1
                continue
            cur += c
            i += 1
        args.append(cur.strip())
        yield src.count("\n", 0, m.start()) + 1, m.group(1), args


def literal(text):
    """The value of adjacent C string literals, or None if `text` is not one."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    if not parts or re.sub(r'"((?:[^"\\]|\\.)*)"', "", text).strip():
        return None
    out = ""
    for p in parts:
        out += re.sub(r"\\(x[0-9a-fA-F]{2}|.)",
                      lambda e: chr(int(e.group(1)[1:], 16)) if e.group(1)[0] == "x"
                      else {"n": "\n", "t": "\t", "r": "\r"}.get(e.group(1), e.group(1)), p)
    return out


CONVERSION = re.compile(r"%([-+ #0']*)(\*|\d*)(?:\.(\*|\d*))?(hh|h|ll|l|j|z|t|L)?([diouxXcspfFeEgGaA%])")


def placed(fmt):
    """Walks `fmt` as common/log_format.cpp does: [(place, conversion,
    argument index)] and a sample line with every conversion replaced by a
    value (fragments by a pair)."""
    out, sample, arg = [], "", 0
    place, i, bare = "start", 0, ""
    while i < len(fmt):
        c = fmt[i]
        if place == "start":
            if c == " ":
                sample += c
                i += 1
                continue
            m = re.match(r"[a-z][a-z0-9_]*=", fmt[i:])
            if m:
                sample += m.group(0)
                i += m.end()
                if fmt[i:i + 1] == '"':
                    sample += '"'
                    i += 1
                    place = "quoted"
                else:
                    place = "bare"
            else:
                place = "fragment"
            continue
        if c == "%":
            m = CONVERSION.match(fmt, i)
            check(m, "a conversion log_format does not know at %r in %r" % (fmt[i:], fmt))
            i = m.end()
            if m.group(5) == "%":
                text = "%"
            else:
                arg += (m.group(2) == "*") + (m.group(3) == "*")
                out.append((place, m.group(0), arg))
                arg += 1
                text = "v"
                if place == "fragment":
                    text = "f=1" if sample.endswith(" ") or not sample else " f=1"
            if place == "bare":
                bare += text
            else:
                sample += text
            continue
        if place == "bare":
            if c == " ":
                sample += logfmt_value(bare)
                bare = ""
                place = "start"
                continue
            bare += c
        elif place == "quoted":
            if c == '"':
                place = "start"
            elif c == "\\":
                sample += fmt[i:i + 2]
                i += 2
                continue
            sample += c
        else:
            if c == " ":
                place = "start"
                continue
            sample += c
        i += 1
    if place == "bare":
        sample += logfmt_value(bare)
    return out, sample


def logfmt_value(v):
    return v if re.fullmatch(r"[!#-<>-\[\]-~]+", v) else '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


def main():
    problems, seen, n = [], set(), 0
    for folder in FOLDERS:
        top = os.path.join(ROOT, folder)
        if not os.path.isdir(top):
            continue
        for dirpath, _, names in os.walk(top):
            for name in sorted(names):
                if not name.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                for line, macro, args in calls(path):
                    if macro == "log_write":
                        args = args[1:]
                    n += 1
                    where = "%s:%d" % (rel, line)
                    fmt = literal(args[0])
                    if fmt is None:
                        problems.append("%s: the format is not a string literal: %s"
                                        % (where, args[0]))
                        continue
                    if (rel, fmt) in PENDING:
                        seen.add((rel, fmt))
                        continue
                    if not fmt.startswith("event="):
                        problems.append("%s: the format does not start with event=: %r"
                                        % (where, fmt))
                        continue
                    convs, sample = placed(fmt)
                    try:
                        logfmt.parse(sample)
                    except logfmt.ParseError as e:
                        problems.append("%s: %r is not logfmt with values in it: %s"
                                        % (where, fmt, e))
                    for place, conv, index in convs:
                        expr = args[1 + index] if 1 + index < len(args) else "?"
                        if place == "fragment" and (rel, expr) not in FRAGMENTS:
                            problems.append(
                                "%s: %s outside a value (%s) is copied unescaped; put it in a "
                                "value (key=%s or key=\\\"%s\\\"), or build it from "
                                "logfmt::value() and list it in FRAGMENTS"
                                % (where, conv, expr, conv, conv))
    for stale in sorted(PENDING - seen):
        problems.append("PENDING lists a call that is gone, remove it: %s %r" % stale)
    for p in problems:
        log("  " + p)
    check(not problems, "%d log calls break the log format (of %d)" % (len(problems), n))
    check(n > 100, "found only %d log calls: is the scan broken?" % n)
    log("ok: %d log calls, every format a logfmt line with escaped values" % n)


main()
