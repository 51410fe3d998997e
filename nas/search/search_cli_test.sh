#!/usr/bin/env bash
# The search CLI end to end on the tiny space and the synthetic language, and its errors.
set -uo pipefail
search="$1"
space="$2"
failures=0

out=$("$search" --space="$space" --data=synthetic --optimizer=gdas --steps=10 --retrain_steps=5 \
       --preset=tanglenas)
rc=$?
last=$(tail -1 <<<"$out")
if [[ $rc -ne 0 ]] || [[ $(grep -c '"alpha"' <<<"$out") -ne 10 ]] ||
   ! grep -q '"derived"' <<<"$last" || ! grep -q '"val_loss_scratch":[0-9]' <<<"$last" ||
   ! grep -q '"val_loss_finetuned":[0-9]' <<<"$last" || ! grep -q '"name":"tanglenas"' <<<"$last"; then
  echo "FAIL: search run"; echo "$out" | tail -2; failures=$((failures + 1))
fi
# Inside the pipeline: PACI on two stages, the derived network written as a model file.
out=$("$search" --space="$space" --data=synthetic --optimizer=drnas --steps=2 --schedule=paci \
       --stages=2 --microbatches=2 --micro_batch_size=2 --models_dir="$TEST_TMPDIR/derived")
if [[ $? -ne 0 ]] || ! grep -q '"pipeline_search"' <<<"$out" || ! grep -q '"drift_bound"' <<<"$out" ||
   [[ ! -s "$TEST_TMPDIR/derived/drnas.json" ]]; then
  echo "FAIL: pipelined search"; echo "$out" | tail -2; failures=$((failures + 1))
fi
for case in "--schedule=nope|unknown schedule 'nope'" \
            "--schedule=paci --optimizer=random|a pipelined search needs" \
            "--schedule=paci --preset=tanglenas|clips gradients" \
            "--optimizer=enas|unknown search method 'enas'" "--space=/nonexistent.json|cannot open --space" \
            "--data=/nonexistent.txt|not found" "--preset=fast|no NAS preset 'fast'" \
            "--storage=shared|unknown weight storage 'shared'" \
            "--attention=flash|unknown attention mode 'flash'" \
            "--retrain_from=warm|'warm' is neither"; do
  flag=${case%%|*}; want=${case#*|}
  # shellcheck disable=SC2086 # a case may hold two flags
  err=$("$search" --space="$space" --data=synthetic --steps=1 $flag 2>&1 >/dev/null)
  if [[ $? -eq 0 || "$err" != *"$want"* ]]; then
    echo "FAIL: $flag printed '$err'"; failures=$((failures + 1))
  fi
done
echo "$failures failures"
[[ $failures -eq 0 ]]
