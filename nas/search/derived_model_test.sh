#!/usr/bin/env bash
# A derived architecture is an ordinary engine model: the search CLI writes it as a model file,
# and //engine:train and //engine:launch train it under every registered schedule. A network tied
# to its token table trains on one stage and is refused, by name, on more.
set -uo pipefail
search="$1"; train="$2"; launch="$3"; simulate="$4"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Four layers whatever the search picks (V-shaped schedules need 2 stages x 2 chunks); per-layer
# head counts and MLP ratios vary.
space="$TEST_TMPDIR/space.json"
echo '{"embed": [16], "heads": [2, 4], "mlp_ratio": [1, 2], "layers": [4], "context": 8}' >"$space"
if ! "$search" --space="$space" --data=synthetic --optimizer=gdas --steps=4 --batch_size=2 \
     --models_dir="$TEST_TMPDIR/untied" >/dev/null; then
  fail "search"
fi
model="$TEST_TMPDIR/untied/gdas.json"
grep -q '"description": "derived by gdas' "$model" || fail "no description in $(cat "$model")"

run=(--data=synthetic --model="$model" --micro_batch_size=2 --stages=2 --microbatches=4
     --batches=2)
# Below the kernel's ephemeral range (32768 up), where any connection could take the port.
port=$((20000 + RANDOM % 12000))
schedules=$("$simulate" --list)
[[ $(wc -l <<<"$schedules") -ge 9 ]] || fail "expected the registered schedules, got '$schedules'"
# Each schedule with the fewest chunks it takes (as its own factory says).
one_chunk=$("$simulate" --list --accepting --stages=2 --microbatches=4 --chunks=1)
for schedule in $schedules; do
  chunks=1
  grep -qx "$schedule" <<<"$one_chunk" || chunks=2
  # The one-process run writes the costs it measured; the ranks get them, as schedules that plan
  # from costs (zb_1p, zb_2p) need every rank to plan from the same ones.
  costs="$TEST_TMPDIR/costs_$schedule.json"
  out=$("$train" "${run[@]}" --schedule="$schedule" --chunks=$chunks --write_costs="$costs" 2>&1)
  if [[ $? -ne 0 ]] || ! grep -q '"summary"' <<<"$out"; then
    fail "train --schedule=$schedule --chunks=$chunks: $(tail -3 <<<"$out")"
  fi
  out=$("$launch" --nproc=2 --master_port=$port -- "${run[@]}" --schedule="$schedule" \
        --chunks=$chunks --costs="$costs" --timeout_seconds=20 2>&1)
  if [[ $? -ne 0 ]] || ! grep -q '"backend":"distributed"' <<<"$out"; then
    fail "launch --schedule=$schedule --chunks=$chunks: $(tail -3 <<<"$out")"
  fi
  port=$((port + 1))
done
# Without the costs, ranks of such a schedule would plan apart: refused before they connect.
out=$("$launch" --nproc=2 --master_port=$port -- "${run[@]}" --schedule=zb_1p \
      --timeout_seconds=20 2>&1) && fail "zb_1p launched without --costs"
grep -q "every rank must plan from the same ones" <<<"$out" || fail "zb_1p without costs: $out"

# The tanglenas preset ties the head to the token table.
"$search" --space="$space" --data=synthetic --optimizer=gdas --steps=2 --batch_size=2 \
  --preset=tanglenas --models_dir="$TEST_TMPDIR/tied" >/dev/null || fail "tied search"
tied="$TEST_TMPDIR/tied/gdas.json"
grep -q '"tied_embeddings": true' "$tied" || fail "not tied: $(cat "$tied")"
"$train" --data=synthetic --model="$tied" --micro_batch_size=2 --stages=1 --microbatches=2 \
  --batches=2 >/dev/null 2>&1 || fail "a tied model on one stage"
err=$("$train" --data=synthetic --model="$tied" --micro_batch_size=2 --stages=2 --microbatches=2 \
      --batches=2 2>&1 >/dev/null)
[[ $? -ne 0 && "$err" == *"tied_embeddings"* ]] || fail "a tied model on two stages: '$err'"

echo "$failures failures"
[[ $failures -eq 0 ]]
