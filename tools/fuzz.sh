#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, starting from its
# checked-in seed corpus (tests/fuzz/corpus/NAME). New inputs go to a scratch
# corpus; crashes land in tests/fuzz/artifacts/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
mkdir -p tests/fuzz/artifacts
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds=tests/fuzz/corpus/${name#fuzz_}
  scratch=$(mktemp -d)
  echo "fuzz: $name for ${seconds}s (seeds: $seeds)"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix=tests/fuzz/artifacts/"$name"- "$scratch" "$seeds" \
       >"$scratch.log" 2>&1; then
    echo "fuzz: $name FAILED; last lines:" >&2
    tail -40 "$scratch.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_runs|cov:" "$scratch.log" | tail -2
  fi
  rm -rf "$scratch" "$scratch.log"
done
exit $status
