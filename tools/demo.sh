#!/usr/bin/env bash
# make demo: tlsward on https://127.0.0.1:8443 with a fresh self-signed
# certificate, in front of a small HTTP backend on 127.0.0.1:8080. Runs in
# the foreground; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
run=demo-run
listen=${TLSWARD_DEMO_LISTEN:-127.0.0.1:8443}
backend_port=${TLSWARD_DEMO_BACKEND_PORT:-8080}
mkdir -p "$run/www"

if [ ! -s "$run/cert.pem" ] || ! openssl x509 -checkend 3600 -noout -in "$run/cert.pem" >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$run/key.pem" -out "$run/cert.pem" -days 30 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
  chmod 600 "$run/key.pem"
fi
echo "hello from the backend behind tlsward" > "$run/www/index.html"

# As root the daemon runs netproc and the helpers as the package's system
# users; a fresh machine has none until the package is installed, so the
# demo makes the ones the package's sysusers.d file names.
if [ "$(id -u)" -eq 0 ]; then
  for user in $(awk '$1 == "u" { print $2 }' packaging/sysusers.d/tlsward.conf); do
    if ! getent passwd "$user" >/dev/null; then
      useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin "$user"
      echo "demo: created the system user $user (as the tlsward package does)"
    fi
  done
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$backend_port") 2>/dev/null; then
  echo "demo: something already listens on 127.0.0.1:$backend_port; set TLSWARD_DEMO_BACKEND_PORT" >&2
  exit 1
fi
python3 -m http.server "$backend_port" --bind 127.0.0.1 --directory "$run/www" \
  >"$run/backend.log" 2>&1 &
backend=$!
trap 'kill $backend 2>/dev/null || true' EXIT

cat <<MSG

  tlsward demo: https://$listen -> http://127.0.0.1:$backend_port
  Try it from another terminal:

    curl --cacert $PWD/$run/cert.pem https://localhost:${listen##*:}/

  Ctrl-C stops it.

MSG
"$build/tlsward" server --name demo --listen "$listen" --target "127.0.0.1:$backend_port" \
  --cert "$run/cert.pem" --key "$run/key.pem" --helpers 2
