#!/usr/bin/env bash
# Format and lint checks run by `make check`:
#   tools/lint.sh BUILD_DIR   check formatting, run clang-tidy with BUILD_DIR's compile database
#   tools/lint.sh --fix       reformat the sources in place
set -euo pipefail
cd "$(dirname "$0")/.."

dirs=(common ipc netproc cryptoproc signer supervisor tests bench)
mapfile -t files < <(find "${dirs[@]}" -name '*.cpp' -o -name '*.hpp' 2>/dev/null | sort)

if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi

build=${1:-build}
echo "lint: clang-format on ${#files[@]} files"
clang-format --dry-run --Werror "${files[@]}"

# clang-tidy on the daemon's own sources (tests and benchmarks are checked
# by the compiler and the sanitizers).
mapfile -t sources < <(find common ipc netproc cryptoproc signer supervisor -name '*.cpp' | sort)
echo "lint: clang-tidy on ${#sources[@]} files"
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2> >(grep -v "warnings generated" >&2)
echo "lint: ok"
