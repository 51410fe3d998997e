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
expect_error "pairs need about 298 GiB" --stages=100000 --microbatches=100000
expect_error "throughput is undefined" --forward_cost=0 --backward_input_cost=0 --backward_weight_cost=0
costs="$TEST_TMPDIR/costs.json"
echo '{"stages": [{"forward": 1e308}]}' >"$costs"
expect_error "forward cost must be a finite number in [0, 1e+09], got 1e+308" --costs="$costs"
echo '{"stages": [{"parameter_bytes": 1.5}]}' >"$costs"
expect_error "parameter_bytes must be a whole number of bytes in [0, 2^50], got 1.5" --costs="$costs"
echo '{"stages": [{"activation_memory_bytes": 1e30}]}' >"$costs"
expect_error "activation_memory_bytes must be a whole number of bytes in [0, 2^50], got 1e+30" \
  --costs="$costs"
output=$("$simulate" 2>&1 >/dev/full)
if [[ $? -eq 0 || "$output" != *"cannot write to standard output"* ]]; then
  echo "FAIL: simulate > /dev/full printed '$output'"; failures=$((failures + 1))
fi
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
if [[ "$text" != *"rank 1 |"* || ! -s "$trace" ]]; then
  echo "FAIL: text grid or trace missing"; failures=$((failures + 1))
fi

custom="$TEST_TMPDIR/deadlock.txt"
printf 'rank 0: F0 B0 F1 B1\nrank 1: F1 B1 F0 B0\n' > "$custom"
expect_error "deadlocks" --schedule_file="$custom"

# --list --accepting asks each schedule's factory: two stages per rank suit the interleaved and
# V-shaped schedules, not 1F1B-flush.
chunked=$("$simulate" --list --accepting --stages=2 --microbatches=4 --chunks=2)
for name in interleaved_1f1b interleaved_zb zb_v dualpipe_v; do
  grep -qx "$name" <<<"$chunked" || { echo "FAIL: $name not listed for --chunks=2: $chunked"; failures=$((failures + 1)); }
done
if grep -qx 1f1b_flush <<<"$chunked"; then
  echo "FAIL: 1f1b_flush listed for --chunks=2"; failures=$((failures + 1))
fi

# A hand-written V: rank 0 holds stages 0 and 3, and turns nothing around itself.
custom="$TEST_TMPDIR/v.txt"
printf 'placement: v\nrank 0: F0 F0.1 B0.1 B0\nrank 1: F0 F0.1 B0.1 B0\n' > "$custom"
text=$("$simulate" --schedule_file="$custom" --format=text 2>&1)
if [[ "$text" != *"rank 0 | F0   .    .    F0.1"* ]]; then
  echo "FAIL: hand-written V schedule: $text"; failures=$((failures + 1))
fi
printf 'placement: 0 0 1\nrank 0: F0\nrank 1: F0\n' > "$custom"
expect_error "every rank must hold the same number of stages" --schedule_file="$custom"

echo "$failures failures"
[[ $failures -eq 0 ]]
