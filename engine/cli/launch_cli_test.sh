#!/usr/bin/env bash
# The launcher end to end: a 2-process Gloo run on 127.0.0.1 reports losses and a summary; a rank
# that crashes makes the run fail naming it, quickly; a wrong process count is a clear error.
set -uo pipefail
launch="$1"
failures=0
port=$((20000 + RANDOM % 20000))
tiny=(--data=synthetic --model=layers=2,embed=16,heads=2,context=8 --micro_batch_size=2
      --stages=2 --microbatches=4 --batches=3 --timeout_seconds=10)

out=$("$launch" --nproc=2 --master_port=$port -- "${tiny[@]}" --schedule=paci \
      --trace="$TEST_TMPDIR/trace.json" 2>"$TEST_TMPDIR/err")
if [[ $? -ne 0 ]] || [[ $(grep -c '"step"' <<<"$out") -ne 3 ]] ||
   ! grep -q '"backend":"distributed"' <<<"$out" || [[ ! -s "$TEST_TMPDIR/trace.json" ]]; then
  echo "FAIL: distributed run"; echo "$out"; cat "$TEST_TMPDIR/err"; failures=$((failures + 1))
fi

start=$SECONDS
"$launch" --nproc=2 --master_port=$((port + 1)) --grace_seconds=5 -- "${tiny[@]}" \
  --fault=exit:1:2 >/dev/null 2>"$TEST_TMPDIR/err"
status=$?
# The launcher names the crashed rank, and so does the surviving rank 0's own error line (the
# launcher's line names both ranks, so it proves nothing about rank 0's error).
if [[ $status -eq 0 ]] || ! grep -q "rank 1 failed first" "$TEST_TMPDIR/err" ||
   ! grep -q "^train: error: rank 0.*rank 1" "$TEST_TMPDIR/err" || (( SECONDS - start > 30 )); then
  echo "FAIL: crashed rank (status $status, $((SECONDS - start)) s)"; cat "$TEST_TMPDIR/err"
  failures=$((failures + 1))
fi

"$launch" --nproc=2 --master_port=$((port + 2)) --grace_seconds=2 -- "${tiny[@]}" --stages=3 \
  >/dev/null 2>"$TEST_TMPDIR/err"
if [[ $? -eq 0 ]] || ! grep -q "WORLD_SIZE is 2 but --stages is 3" "$TEST_TMPDIR/err"; then
  echo "FAIL: wrong world size"; cat "$TEST_TMPDIR/err"; failures=$((failures + 1))
fi

echo "$failures failures"
[[ $failures -eq 0 ]]
