#!/usr/bin/env bash
# The launcher end to end: a 2-process Gloo run on 127.0.0.1 reports losses and a summary; a rank
# that crashes makes the run fail naming it, quickly; a wrong process count is a clear error; two
# jobs on one port never train together.
set -uo pipefail
launch="$1"
failures=0
# Below the kernel's ephemeral range (32768 up), where any connection could take the port.
port=$((20000 + RANDOM % 12000))
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

# A process count that is not the stage count is refused by the launcher, before any rank starts.
start=$SECONDS
"$launch" --nproc=2 --master_port=$((port + 2)) --grace_seconds=2 -- "${tiny[@]}" --stages=3 \
  >/dev/null 2>"$TEST_TMPDIR/err"
if [[ $? -eq 0 ]] || (( SECONDS - start > 2 )) ||
   ! grep -q "^launch: error: --nproc=2 starts 2 ranks but the train flags say --stages=3" \
     "$TEST_TMPDIR/err" || grep -q "^train:" "$TEST_TMPDIR/err"; then
  echo "FAIL: wrong world size"; cat "$TEST_TMPDIR/err"; failures=$((failures + 1))
fi
# A rank started by hand with the wrong world still refuses it.
WORLD_SIZE=2 RANK=0 MASTER_PORT=$((port + 3)) "$(dirname "$launch")/train" "${tiny[@]}" \
  --stages=3 >/dev/null 2>"$TEST_TMPDIR/err"
if [[ $? -eq 0 ]] || ! grep -q "WORLD_SIZE is 2 but --stages is 3" "$TEST_TMPDIR/err"; then
  echo "FAIL: a rank accepted the wrong world size"; cat "$TEST_TMPDIR/err"
  failures=$((failures + 1))
fi
# Absurd process counts are refused, not spawned.
"$launch" --nproc=100000 -- "${tiny[@]}" >/dev/null 2>"$TEST_TMPDIR/err"
if [[ $? -eq 0 ]] || ! grep -q "more than 4 ranks per core .* pass --oversubscribe" "$TEST_TMPDIR/err"; then
  echo "FAIL: --nproc=100000"; cat "$TEST_TMPDIR/err"; failures=$((failures + 1))
fi

# Two jobs on one port: job B's rank 0 cannot take the port, and its rank 1, reaching job A's
# rendezvous, is refused naming both runs; job A trains exactly what it trains alone.
losses() { grep -o '"train_loss":[0-9.e+-]*' "$1"; }
long=("${tiny[@]}" --batches=500 --eval_every=0 --schedule=1f1b_flush)
"$launch" --nproc=2 --master_port=$((port + 4)) -- "${long[@]}" --seed=1 >"$TEST_TMPDIR/alone" \
  2>/dev/null || { echo "FAIL: job A alone"; failures=$((failures + 1)); }
"$launch" --nproc=2 --master_port=$((port + 5)) --run_id=job-a -- "${long[@]}" --seed=1 \
  >"$TEST_TMPDIR/a.out" 2>"$TEST_TMPDIR/a.err" &
job_a=$!
# Job B starts once job A's rendezvous store listens (rank 0 prints its losses only at the end).
for _ in $(seq 1 100); do
  ss -Hltn "sport = :$((port + 5))" 2>/dev/null | grep -q . && break
  sleep 0.05
done
"$launch" --nproc=2 --master_port=$((port + 5)) --run_id=job-b --grace_seconds=2 -- \
  "${long[@]}" --seed=2 >"$TEST_TMPDIR/b.out" 2>"$TEST_TMPDIR/b.err"
status_b=$?
wait $job_a
status_a=$?
if [[ $status_a -ne 0 ]] || [[ "$(losses "$TEST_TMPDIR/a.out")" != "$(losses "$TEST_TMPDIR/alone")" ]]; then
  echo "FAIL: job A was disturbed (status $status_a)"; cat "$TEST_TMPDIR/a.err"
  failures=$((failures + 1))
fi
if [[ $status_b -eq 0 ]] || grep -q '"step"' "$TEST_TMPDIR/b.out" ||
   ! grep -q "run 'job-b', reached the rendezvous of another job, run 'job-a'" "$TEST_TMPDIR/b.err"; then
  echo "FAIL: job B joined job A or said nothing clear (status $status_b)"; cat "$TEST_TMPDIR/b.err"
  failures=$((failures + 1))
fi

echo "$failures failures"
[[ $failures -eq 0 ]]
