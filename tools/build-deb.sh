#!/usr/bin/env bash
# Builds the Debian package from this tree: copies the sources (what git
# tracks, plus new files not ignored) to OUT/src, puts packaging/debian in
# as debian/, runs dpkg-buildpackage there and lintian on the result.
# The .deb, .buildinfo and .changes land in OUT/. Usage: tools/build-deb.sh [OUT]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-build-deb}" && cd "${1:-build-deb}" && pwd)
src="$out/src"

rm -rf "$src" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$src"
cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard \
    | grep -zv -e '^build' -e '^demo-run/' \
    | xargs -0 -I{} find {} -maxdepth 0 -type f -print0 \
    | tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude='./build*' --exclude=./demo-run -cf - . | tar -xf - -C "$src"
fi
cp -r packaging/debian "$src/debian"

cd "$src"
dpkg-buildpackage -us -uc -b
cd "$out"
ls -l "$out"/*.deb
# Errors and warnings fail the build; informational tags are printed.
lintian --fail-on error,warning --info --display-info "$out"/*.changes
echo "tlsward: package in $out/"
