#!/usr/bin/env bash
# Runs every fuzz target (the *_fuzz_test targets, built with --config=fuzz) for SECONDS each from
# a copy of its seed corpus, and prints executions and crashes per target. Exit status 1 when any
# target crashed; the crashing input is kept under OUT_DIR for a regression seed.
#   ci/fuzz_smoke.sh [SECONDS] [OUT_DIR]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-30}"
out="${2:-$(mktemp -d)}"
targets=(
  //engine/sim:cost_model_fuzz_test
  //engine/schedule:custom_schedule_fuzz_test
  //engine/model:gpt_spec_fuzz_test
  //nas/entangled:search_space_fuzz_test
  //benchmarks/harness:experiment_config_fuzz_test
)
./bazelw build --config=fuzz "${targets[@]}" || { echo "fuzz: build failed"; exit 1; }
bin="$(./bazelw info --config=fuzz bazel-bin 2>/dev/null)"
failed=0
for target in "${targets[@]}"; do
  package="${target#//}"; package="${package%%:*}"; name="${target##*:}"
  binary="$bin/$package/$name"
  corpus="$out/$name/corpus"; artifacts="$out/$name/crashes/"
  mkdir -p "$corpus" "$artifacts"
  # The seeds are the test's own arguments: the files its BUILD rule names.
  for seed in $(./bazelw cquery --config=fuzz "labels(data, $target)" --output=files 2>/dev/null); do
    [[ -f "$seed" ]] && cp "$seed" "$corpus/"
  done
  # The runfiles tree lets the experiment-config target find the search spaces configs name.
  log="$out/$name.log"
  (cd "$binary.runfiles/pipebench" 2>/dev/null || true
   "$binary" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
     -artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1)
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [[ -z "$runs" ]] && runs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
  crashes=$(find "$artifacts" -type f | wc -l)
  printf '%-32s %10s executions  %d crashes\n' "$name" "${runs:-?}" "$crashes"
  if [[ $status -ne 0 || $crashes -gt 0 ]]; then
    failed=1
    tail -30 "$log"
  fi
done
exit $failed
