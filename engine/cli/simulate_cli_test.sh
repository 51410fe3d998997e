#!/usr/bin/env bash
# End-to-end checks of the simulate CLI: documented JSON fields, and a clear error with a non-zero
# exit for every kind of bad input.
set -uo pipefail
simulate="$1"
failures=0

expect_error() {  # expect_error "<text the error must contain>" flags...
  local want="$1"; shift
  local output
  output=$("$simulate" "$@" 2>&1)
  local status=$?
  if [[ $status -eq 0 ]]; then
    echo "FAIL: '$*' exited 0"; failures=$((failures + 1))
  elif [[ "$output" != *"$want"* ]]; then
    echo "FAIL: '$*' printed '$output', expected it to contain '$want'"; failures=$((failures + 1))
  fi
}

expect_error "stages must be >= 1" --stages=0
expect_error "microbatches must be >= 1" --microbatches=0
expect_error "accumulation must be >= 1" --schedule=paci --accumulation=-2
expect_error "microbatches (2) must be >= stages (4)" --schedule=pipedream_2bw --stages=4 --microbatches=2
expect_error "unknown schedule 'bogus'" --schedule=bogus
expect_error "--forward_cost must be >= 0" --forward_cost=-1
expect_error "--p2p_latency must be >= 0" --p2p_latency=-0.5
expect_error "--format must be json or text" --format=xml
expect_error "cannot open cost file '/nonexistent.json'" --costs=/nonexistent.json
expect_error "cannot open --schedule_file" --schedule_file=/nonexistent.txt

json=$("$simulate" --schedule=paci --stages=4 --microbatches=4 --batches=8 --accumulation=2)
for field in schema_version simulated microbatches_per_second bubble_fraction ranks \
             peak_memory_bytes model_stages max_live_weight_versions max_drift drift_bound; do
  if [[ "$json" != *"\"$field\""* ]]; then
    echo "FAIL: JSON output lacks '$field': $json"; failures=$((failures + 1))
  fi
done
if [[ "$json" != *'"max_drift":2,"microbatches"'* ]]; then  # ceil(3/2) at stage 0
  echo "FAIL: expected PACI max drift 2 at p=4 a=2: $json"; failures=$((failures + 1))
fi

trace="$TEST_TMPDIR/trace.json"
text=$("$simulate" --schedule=zb_h1 --stages=2 --microbatches=2 --format=text --trace="$trace")
if [[ "$text" != *"stage 1 |"* || ! -s "$trace" ]]; then
  echo "FAIL: text grid or trace missing"; failures=$((failures + 1))
fi

custom="$TEST_TMPDIR/deadlock.txt"
printf 'rank 0: F0 B0 F1 B1\nrank 1: F1 B1 F0 B0\n' > "$custom"
expect_error "deadlocks" --schedule_file="$custom"

echo "$failures failures"
[[ $failures -eq 0 ]]
