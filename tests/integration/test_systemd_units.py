"""The packaged systemd units, sysusers.d, tmpfiles.d, configuration and man
pages (packaging/): `systemd-analyze verify` accepts the units,
`systemd-analyze security --offline=yes` rates tlsward.service and
tlsward@.service at an exposure of 2.0 or lower, systemd-sysusers and
systemd-tmpfiles accept their files, the shipped tlsward.toml passes
`tlsward check`, and the man pages render without warnings. Skips what
needs a tool that is not installed."""
import os
import re
import shutil
import subprocess

from harness import *

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PACKAGING = os.path.join(SOURCE, "packaging")
UNITS = ["tlsward.service", "tlsward@.service", "tlsward.socket"]
MAX_EXPOSURE = 2.0

tmp = TempDir()
if not shutil.which("systemd-analyze"):
    log("skip: systemd-analyze is not installed (package systemd): units not checked")
else:
    # verify wants the binaries where the units name them: point the
    # copies at the build tree.
    copies = []
    for unit in UNITS:
        with open(os.path.join(PACKAGING, "systemd", unit)) as f:
            text = f.read()
        path = os.path.join(tmp.path, unit)
        with open(path, "w") as f:
            f.write(text.replace("/usr/sbin/tlsward", TLSWARD))
        copies.append(path)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *copies], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0 and not r.stderr.strip(),
          "systemd-analyze verify: %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    log("ok: systemd-analyze verify %s" % " ".join(UNITS))

    for unit in ("tlsward.service", "tlsward@.service"):
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                            os.path.join(tmp.path, unit)], capture_output=True, text=True,
                           timeout=60)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
        check(m is not None, "no exposure level from systemd-analyze security:\n%s%s"
              % (r.stdout, r.stderr))
        exposure = float(m.group(1))
        check(exposure <= MAX_EXPOSURE, "%s: exposure %.1f > %.1f:\n%s"
              % (unit, exposure, MAX_EXPOSURE, r.stdout))
        log("ok: %s exposure %.1f" % (unit, exposure))

if shutil.which("systemd-sysusers"):
    r = subprocess.run(["systemd-sysusers", "--dry-run",
                        os.path.join(PACKAGING, "sysusers.d", "tlsward.conf")],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "systemd-sysusers --dry-run: %s%s" % (r.stdout, r.stderr))
    log("ok: sysusers.d/tlsward.conf")
if shutil.which("systemd-tmpfiles"):
    # --root: parse and plan in a scratch tree, never touch this machine's /run.
    root = os.path.join(tmp.path, "root")
    os.makedirs(os.path.join(root, "run"))
    os.makedirs(os.path.join(root, "etc"))
    for name in ("passwd", "group"):
        shutil.copy(os.path.join("/etc", name), os.path.join(root, "etc", name))
    with open(os.path.join(root, "etc", "passwd"), "a") as f:
        f.write("tlsward-supervisor:x:64999:64999::/:/usr/sbin/nologin\n")
    with open(os.path.join(root, "etc", "group"), "a") as f:
        f.write("tlsward-supervisor:x:64999:\n")
    r = subprocess.run(["systemd-tmpfiles", "--create", "--root", root,
                        os.path.join(PACKAGING, "tmpfiles.d", "tlsward.conf")],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and os.path.isdir(os.path.join(root, "run/tlsward/empty")),
          "systemd-tmpfiles: %s%s" % (r.stdout, r.stderr))
    log("ok: tmpfiles.d/tlsward.conf")

# The shipped configuration, with a certificate of ours for the snakeoil one.
cert, key = make_cert(tmp.path)
with open(os.path.join(PACKAGING, "tlsward.toml")) as f:
    text = f.read()
text = text.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert)
text = text.replace("/etc/ssl/private/ssl-cert-snakeoil.key", key)
config = tmp.file("tlsward.toml")
with open(config, "w") as f:
    f.write(text)
r = subprocess.run([TLSWARD, "check", "--config", config], capture_output=True, text=True)
check(r.returncode == 0, "the shipped tlsward.toml does not pass check: %s" % r.stderr)
log("ok: packaging/tlsward.toml passes tlsward check")

if shutil.which("man"):
    for page in ("tlsward.8", "tlsward.toml.5"):
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(PACKAGING, "man", page)],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH="80"))
        text = re.sub(".\b", "", r.stdout)  # overstrike bold
        check(r.returncode == 0 and not r.stderr.strip() and "\nNAME\n" in text,
              "man %s: %s" % (page, r.stderr))
    log("ok: man pages render without warnings")
tmp.cleanup()
