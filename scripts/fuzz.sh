#!/usr/bin/env bash
# Runs each coverage-guided fuzz target (cargo fuzz, libFuzzer) for a
# bounded time from the corpus kept in the repo. A crash fails the run and
# leaves the input in core/codec/fuzz/artifacts/<target>/ to add to the
# corpus once fixed.
#   scripts/fuzz.sh [seconds per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/../core/codec/fuzz"
seconds="${1:-20}"
# The instrumented build is kept apart from the ordinary one, under the same
# kept folder.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
# Stable Rust: no sanitizer (they need nightly); the targets assert their
# own invariants, with Rust's bounds, overflow and debug checks on (-a).
for target in decode civil partition kpl extract timestream_text time_text; do
  scratch=$(mktemp -d)
  echo "fuzzing $target for ${seconds}s"
  log="$scratch.log"
  status=0
  cargo fuzz run --sanitizer none -O -a "$target" "$scratch" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
  rm -rf "$scratch"
  if [ "$status" -ne 0 ]; then
    grep -vE '^(#[0-9]+|INFO|WARNING)' "$log" | tail -40 >&2
    echo "fuzz target $target failed (exit $status): the input is in core/codec/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  rm -f "$log"
done
