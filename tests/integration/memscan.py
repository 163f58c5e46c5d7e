"""Reads the readable memory of a process from /proc/PID/mem, to check what
a process does or does not hold."""

import re


def private_scalar(key_path):
    """The private key's secret integer as big-endian bytes (EC: d)."""
    import subprocess
    text = subprocess.run(["openssl", "pkey", "-in", key_path, "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    m = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    if not m:
        raise RuntimeError("no priv: in openssl pkey output")
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    return raw.lstrip(b"\0")


def pem_body_slices(path, width=48):
    """A few base64 slices from the middle of a PEM file's body."""
    with open(path) as f:
        body = "".join(l.strip() for l in f if not l.startswith("-----"))
    mid = len(body) // 2
    return [body[i: i + width].encode() for i in (mid - width, mid) if i >= 0]


def readable_regions(pid):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            name = parts[5] if len(parts) > 5 else ""
            if "r" not in perms or name in ("[vvar]", "[vsyscall]"):
                continue
            yield start, end, name


# Sanitizer shadow memory is terabytes of reserved, never-touched pages;
# nothing of ours lives in a mapping that large.
MAX_REGION = 1 << 32
CHUNK = 8 << 20


def contains(pid, needles):
    """{needle: True/False}: whether each byte string occurs in pid's memory."""
    found = {n: False for n in needles}
    overlap = max(len(n) for n in needles)
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for start, end, _ in readable_regions(pid):
            if end - start > MAX_REGION:
                continue
            pos = start
            while pos < end:
                try:
                    mem.seek(pos)
                    data = mem.read(min(CHUNK + overlap, end - pos))
                except (OSError, ValueError, OverflowError):
                    break
                for n in needles:
                    if not found[n] and n in data:
                        found[n] = True
                pos += CHUNK
    return found
