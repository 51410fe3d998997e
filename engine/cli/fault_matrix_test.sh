#!/usr/bin/env bash
# The distributed fault matrix (README, Reliability): a 2-process Gloo run on 127.0.0.1 in which a
# rank exits at warm-up, in the steady state, at an optimizer step or in the final flush, hangs,
# or is much slower than the other; the rendezvous port is taken; the launcher is killed. Every
# failure ends in an error naming the rank (or the port) within its time bound, the slow run
# finishes, and no process of the run is left behind. Prints one line per case for the README.
set -uo pipefail
launch="$1"
failures=0
# Below the kernel's ephemeral range (32768 up), where any connection could take the port.
port=$((20000 + RANDOM % 12000))
marker="$TEST_TMPDIR/fault_matrix_$$_$RANDOM"  # in every rank's argv, so pgrep finds leftovers
tiny=(--data=synthetic --model=layers=2,embed=16,heads=2,context=8 --micro_batch_size=2
      --stages=2 --microbatches=4 --batches=3 --schedule=paci --trace="$marker.json")

leftovers() { pgrep -f -- "$marker" | grep -v "^$$\$"; }
fail() { echo "FAIL: $1"; cat "$TEST_TMPDIR/err" 2>/dev/null | tail -5; failures=$((failures + 1)); }

# run_case NAME WANT(ok|fail) PATTERN MAX_SECONDS LAUNCH_AND_TRAIN_ARGS...
run_case() {
  local name="$1" want="$2" pattern="$3" limit="$4"
  shift 4
  port=$((port + 1))
  local start=$SECONDS
  timeout $((limit + 30)) "$launch" --nproc=2 --master_port=$port --grace_seconds=3 "$@" \
    >/dev/null 2>"$TEST_TMPDIR/err"
  local status=$? took=$((SECONDS - start))
  sleep 0.5
  local orphans
  orphans=$(leftovers | wc -l)
  if [[ $want == ok && $status -ne 0 ]] || [[ $want == fail && $status -eq 0 ]] ||
     { [[ -n $pattern ]] && ! grep -Eq -- "$pattern" "$TEST_TMPDIR/err"; } ||
     (( took > limit )) || (( orphans > 0 )); then
    fail "$name: status $status in $took s (limit $limit), $orphans left behind, want /$pattern/"
  fi
  echo "case | $name | status $status | $took s | orphans $orphans | $(grep -m1 "error" "$TEST_TMPDIR/err")"
  pkill -KILL -f -- "$marker" 2>/dev/null
}

# Time bounds: what this 2-core machine measures (exits 0-3 s: the launcher's 3 s grace when the
# survivor is not waiting on the dead rank; a hang 9 s: the 5 s receive timeout and the grace), with
# a few seconds' margin (a busy CI machine), and the README's table states the same.
run_case "rank 0 exits in warm-up" fail "rank 0 failed first" 8 -- "${tiny[@]}" \
  --timeout_seconds=10 --fault=exit:0:1
run_case "rank 1 exits in the steady state" fail "rank 1 failed first" 8 -- "${tiny[@]}" \
  --timeout_seconds=10 --fault=exit:1:8
run_case "rank 0 exits at its optimizer step" fail "rank 0 failed first" 8 -- "${tiny[@]}" \
  --timeout_seconds=10 --fault=exit:0:step
run_case "rank 1 exits in the final flush" fail "rank 1 failed first" 8 -- "${tiny[@]}" \
  --timeout_seconds=10 --fault=exit:1:last
# The hung rank never fails by itself: the other's receive times out naming it.
# The launcher sees rank 0 fail first, and says rank 1 was still running when the grace ran out.
run_case "rank 1 hangs" fail \
  "rank 0 failed first.*rank 1 was still running 3 s later and was stopped by the launcher" 15 -- \
  "${tiny[@]}" \
  --timeout_seconds=5 --fault=hang:1:4
grep -q "^train: error: rank 0.*rank 1" "$TEST_TMPDIR/err" || fail "rank 0's error does not name rank 1"
# 0.15 s before each of rank 1's ~27 actions: the run outlasts the 2 s receive timeout several
# times over, yet no single wait does.
run_case "rank 1 is much slower" ok "" 20 -- "${tiny[@]}" --timeout_seconds=2 --fault=slow:1:0.15

# The rendezvous port is taken by another program.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(120)' $((port + 1)) &
squatter=$!
sleep 0.5
run_case "port in use" fail "$((port + 1))" 10 -- "${tiny[@]}" --timeout_seconds=10
kill $squatter 2>/dev/null

# The launcher killed: its ranks go with it (SIGTERM reaches its process group's ranks by
# default; SIGKILL through each rank's parent-death signal).
for signal in TERM KILL; do
  port=$((port + 1))
  "$launch" --nproc=2 --master_port=$port -- "${tiny[@]}" --batches=100000 \
    --timeout_seconds=10 >/dev/null 2>"$TEST_TMPDIR/err" &
  launcher=$!
  # The launcher and both ranks running before the kill, or the case proves nothing.
  for _ in $(seq 1 100); do [[ $(leftovers | wc -l) -ge 3 ]] && break; sleep 0.1; done
  started=$(leftovers | wc -l)
  (( started >= 3 )) || fail "SIG$signal case: only $started of the launcher and its 2 ranks started"
  kill -$signal $launcher
  wait $launcher 2>/dev/null
  start=$SECONDS
  for _ in $(seq 1 50); do [[ $(leftovers | wc -l) -eq 0 ]] && break; sleep 0.1; done
  orphans=$(leftovers | wc -l)
  echo "case | launcher killed by SIG$signal | ranks gone after $((SECONDS - start)) s | orphans $orphans"
  (( orphans == 0 )) || fail "SIG$signal to the launcher left $orphans processes"
  pkill -KILL -f -- "$marker" 2>/dev/null
done

echo "$failures failures"
[[ $failures -eq 0 ]]
