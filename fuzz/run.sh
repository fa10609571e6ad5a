#!/usr/bin/env bash
# Runs mlscore's fuzz targets (proptest properties in src/fuzz.rs) with many
# cases for a bounded time, then the scaling targets with larger inputs, and
# prints one summary: runs, panics and the slowest input per byte for each
# reader, and how the time per byte grows with the input's size.
#
#   fuzz/run.sh                      # 20,000 cases per target, at most 20 minutes
#   CASES=2000 SECONDS_MAX=300 fuzz/run.sh
#
# The fuzz targets are ordinary tests, so a debug build serves (cargo-fuzz
# would need a nightly sanitizer build of polars). Exit status: 0 when no
# target panicked, 1 otherwise.
set -u
cd "$(dirname "$0")/.."

CASES="${CASES:-20000}"
SECONDS_MAX="${SECONDS_MAX:-1200}"
MAX_BYTES="${MAX_BYTES:-262144}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo test --locked --lib --no-run -q >/dev/null 2>&1 || {
    echo "build failed; run: cargo test --lib --no-run" >&2
    exit 2
}

start=$(date +%s)
PROPTEST_CASES="$CASES" MLSCORE_FUZZ_MAX_BYTES="$MAX_BYTES" \
    timeout --signal=INT "$SECONDS_MAX" \
    cargo test --locked --lib -q fuzz:: -- --nocapture --test-threads=1 >"$log" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))

echo "fuzz: $CASES cases per target, ${elapsed}s (limit ${SECONDS_MAX}s)"
echo
echo "target          runs     panics  slowest ns/byte (input bytes)"
# Test progress dots may precede a line on the same line: match anywhere.
grep -o 'fuzz [a-z-]*: runs=.*' "$log" | sed -E 's/^fuzz ([^:]+): runs=([0-9]+) panics=([0-9]+) slowest=([0-9]+)ns\/byte \(at ([0-9]+) bytes\)/\1 \2 \3 \4 \5/' |
    awk '{ printf "%-15s %-8s %-7s %s (%s)\n", $1, $2, $3, $4, $5; runs += $2; panics += $3 }
         END { printf "%-15s %-8s %-7s\n", "total", runs, panics }'
echo
echo "scaling (ns/byte at each size; growth = last/first, ~1 when linear)"
grep -o 'scaling [a-z-]*: growth=.*' "$log" | sed -E 's/^scaling //'
echo

failed=$(grep -c 'panicked\|FAILED\|fuzz target .* failed' "$log")
if [ "$status" -eq 124 ] || [ "$status" -eq 130 ]; then
    echo "stopped at the time limit; targets not listed above did not run"
fi
if [ "$failed" -gt 0 ]; then
    echo "FAILURES:"
    grep -B2 -A20 'panicked\|fuzz target .* failed' "$log" | head -80
    exit 1
fi
exit 0
