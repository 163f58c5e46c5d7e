#!/usr/bin/env bash
# Installs the Debian packages tlsward needs to build, test and run its demo,
# when they are missing. As root it installs them; as anyone else it names
# them and the command to run. Usage: tools/install-deps.sh [build|check|demo|deb]
set -euo pipefail

what=${1:-check}

build_pkgs=(cmake ninja-build g++ pkg-config libssl-dev libuv1-dev libseccomp-dev
            libsystemd-dev libtomlplusplus-dev catch2)
# Real peers for the integration tests, the linters, and clang for the
# libFuzzer targets.
test_pkgs=(openssl curl gnutls-bin python3 procps clang clang-format clang-tidy
           libclang-rt-14-dev systemd)
demo_pkgs=(openssl curl python3)
# make deb: the Debian tools, and the build dependencies of
# packaging/debian/control (Catch2 is not one: the package builds no tests).
deb_pkgs=(cmake ninja-build g++ pkgconf libssl-dev libuv1-dev libseccomp-dev libsystemd-dev
          libtomlplusplus-dev build-essential debhelper dpkg-dev fakeroot lintian)

case "$what" in
  build) want=("${build_pkgs[@]}") ;;
  demo)  want=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
  check) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  deb)   want=("${deb_pkgs[@]}") ;;
  *) echo "usage: $0 [build|check|demo|deb]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "tlsward: missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "tlsward: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
