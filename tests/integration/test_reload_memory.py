"""1,000 certificates (1,000 services, each with its own key and listener):
after 20 reloads, the resident memory of every process (supervisor,
netproc, each helper of the serving generation) is within 10% of what it
was after the first. hitch's reload doubled memory for its users."""
import datetime
import json
import os
import time

import tls_client
from harness import *
from load import rss_kib

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
except ImportError:
    log("SKIP: python3-cryptography is not installed")
    sys.exit(0)

# Under the sanitizers (several times slower, and ASan's allocator keeps
# freed memory in quarantine and per-size caches that take a few reloads to
# fill): a quarter of the certificates, a small quarantine, the baseline
# after the fifth reload and a looser bound. The normal build is the
# measurement; this run is for leaks and memory errors across reloads.
SERVICES = 250 if SANITIZED else 1000
RELOADS = 20
BASELINE = 5 if SANITIZED else 1
LIMIT = 1.15 if SANITIZED else 1.10
tmp = TempDir()
backend = Backend("echo")
control = tmp.file("control")
config_path = tmp.file("tlsward.toml")

t0 = time.time()
now = datetime.datetime.now(datetime.timezone.utc)
with open(config_path, "w") as conf:
    conf.write("[global]\nhelpers = 2\n")
    for i in range(SERVICES):
        k = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "svc%d.test" % i)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(k.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .sign(k, hashes.SHA256()))
        with open(tmp.file("s%d.crt" % i), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(tmp.file("s%d.key" % i), "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
        os.chmod(tmp.file("s%d.key" % i), 0o600)
        conf.write('\n[[service]]\nname = "svc%d"\nlisten = "127.0.0.1:0"\ntarget = "%s"\n'
                   'cert = "s%d.crt"\nkey = "s%d.key"\n' % (i, backend.address, i, i))
log("ok: %d certificates and keys made in %.1fs" % (SERVICES, time.time() - t0))

t0 = time.time()
env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:quarantine_size_mb=4"} if SANITIZED else None
tw = Tlsward(["run", "--config", config_path, "--control", control], env=env, wait_ready=False)
tw.wait_for(r"event=ready", timeout=60 * SLOW)
log("ok: started with %d services in %.1fs" % (SERVICES, time.time() - t0))
tw.ports = [int(l.rsplit(":", 1)[1]) for l in tw.wait_for(r"event=listening ", count=SERVICES)]
check(len(tw.ports) == SERVICES, "%d listeners, want %d" % (len(tw.ports), SERVICES))


def settled():
    """Once the older helpers are gone: {role: rss KiB} of every process."""
    wait_until(lambda: len(tw.children()) == 3, 30 * SLOW, "older helpers did not exit")
    out = {"supervisor": rss_kib(tw.proc.pid)}
    for pid, title in tw.children().items():
        out[title.replace("tlsward: ", "")] = rss_kib(pid)
    return out


def reload():
    t = time.time()
    r = cli("reload", "--control", control, timeout=300)
    check(r.returncode == 0, "reload failed: %s" % r.stderr)
    return time.time() - t


times = [reload() for _ in range(BASELINE)]
first = settled()
for _ in range(RELOADS - BASELINE):
    times.append(reload())
last = settled()
log("ok: %d reloads of %d certificates, %.2fs to %.2fs each (mean %.2fs)"
    % (RELOADS, SERVICES, min(times), max(times), sum(times) / len(times)))
for proc in sorted(first):
    log("   %-10s RSS after reload %d: %7d KiB, after reload %d: %7d KiB (%+.1f%%)"
        % (proc, BASELINE, first[proc], RELOADS, last[proc],
           100.0 * (last[proc] - first[proc]) / first[proc]))
for proc in first:
    check(last[proc] <= first[proc] * LIMIT,
          "%s grew from %d KiB to %d KiB over %d reloads" % (proc, first[proc], last[proc], RELOADS))

# Still serving: the first, a middle and the last service.
for i in (0, SERVICES // 2, SERVICES - 1):
    check(tls_client.echo_round_trip(tw.ports[i]) == b"hello through tlsward\n",
          "service svc%d does not answer" % i)
status = json.loads(cli("status", "--json", "--control", control).stdout)
check(status["generation"] == RELOADS + 1 and len(status["services"]) == SERVICES,
      "status: generation %s, %d services" % (status["generation"], len(status["services"])))
log("ok: every process within %d%% after %d reloads; services answer"
    % (round((LIMIT - 1) * 100), RELOADS))
check(tw.stop() == 0, "tlsward did not exit 0")
tw.check_clean_log()
backend.stop()
tmp.cleanup()
