#!/usr/bin/env bash
# End-to-end checks of the train CLI on the synthetic language: JSON lines and summary, and a clear
# error with a non-zero exit for bad input.
set -uo pipefail
train="$1"
failures=0
tiny=(--data=synthetic --model=layers=2,embed=16,heads=2,context=8 --micro_batch_size=2)

expect_error() {  # expect_error "<text the error must contain>" flags...
  local want="$1"; shift
  local output
  output=$("$train" "${tiny[@]}" "$@" 2>&1)
  local status=$?
  if [[ $status -eq 0 ]]; then
    echo "FAIL: '$*' exited 0"; failures=$((failures + 1))
  elif [[ "$output" != *"$want"* ]]; then
    echo "FAIL: '$*' printed '$output', expected '$want'"; failures=$((failures + 1))
  fi
}

expect_error "stages (3) > layers (2)" --stages=3 --microbatches=4
expect_error "leaves stage 1 without layers" --stages=2 --partition=2,0
expect_error "unknown schedule 'nope'" --schedule=nope
expect_error "microbatches (1) must be >= stages (2)" --schedule=pipedream_2bw --microbatches=1
expect_error "not found" --data=/nonexistent/input.txt
expect_error "unknown key 'depth'" --model=depth=3
expect_error "divisible by heads" --model=layers=2,embed=10,heads=4
expect_error "non-finite" --lr=1e12 --warmup=0 --weight_decay=0 --batches=30
expect_error "--device must be cpu, cuda" --device=gpu
# Numbers out of range, a transport nobody has, a run that would never step, absurd sizes: each
# refused before anything is allocated (a model of 10^8 layers or 10^6-sequence micro-batches
# would run until the machine gave out).
expect_error "--lr must be a finite number > 0, got -1" --lr=-1
expect_error "--weight_decay must be a finite number >= 0, got nan" --weight_decay=nan
expect_error "--threads must be a finite number >= 0 and <= " --threads=-4
expect_error "--threads must be a finite number >= 0 and <= " --threads=100000
expect_error "--slow_down must be a finite number > 0" --slow_down=nan
expect_error "transport must be gloo or nccl, got 'foo'" --transport=foo
expect_error "--accumulation=1000000 is more than the 8 micro-batches the run trains" \
  --schedule=paci --stages=2 --microbatches=4 --batches=2 --accumulation=1000000
expect_error "GiB to train" --model=layers=100000000,embed=16,heads=2,context=8
expect_error "GiB to train" --micro_batch_size=1000000 --batches=1
expect_error "GiB to train" --model=layers=2,embed=1000000000,heads=2,context=8
# Output that cannot be written is an error, not an exit 0 with nothing written.
expect_error "cannot write --out '/dev/full': No space left on device" --batches=1 --out=/dev/full
expect_error "cannot write --write_costs '/dev/full': No space left on device" --batches=1 \
  --write_costs=/dev/full
output=$("$train" "${tiny[@]}" --batches=1 2>&1 >/dev/full)
if [[ $? -eq 0 || "$output" != *"cannot write to standard output"* ]]; then
  echo "FAIL: train > /dev/full printed '$output'"; failures=$((failures + 1))
fi
# A rank refuses before it connects (no peer is started here).
output=$(WORLD_SIZE=2 RANK=0 MASTER_PORT=1 "$train" "${tiny[@]}" --partition=cost 2>&1)
if [[ $? -eq 0 || "$output" != *"--partition=cost times the units on each rank apart"* ]]; then
  echo "FAIL: a distributed --partition=cost printed '$output'"; failures=$((failures + 1))
fi
if [[ "${PIPEBENCH_WITH_CUDA:-0}" != 1 ]]; then
  # Debian's LibTorch has no CUDA: one error naming the GPU build, before any data is read.
  expect_error "--device 'cuda': this build is against a CPU-only LibTorch" --device=cuda
  expect_error "ci/gpu/build.sh" --device=cuda:0 --stages=1 --microbatches=1
fi

out="$TEST_TMPDIR/run.jsonl"
if ! "$train" "${tiny[@]}" --schedule=paci --stages=2 --microbatches=2 --batches=6 --eval_every=3 \
     --out="$out"; then
  echo "FAIL: a valid run failed"; failures=$((failures + 1))
fi
if [[ $(grep -c '"step"' "$out") -ne 6 ]] || ! grep -q '"val_loss"' "$out" ||
   ! tail -1 "$out" | grep -q '"summary"'; then
  echo "FAIL: expected 6 step lines, a val_loss and a summary:"; cat "$out"; failures=$((failures + 1))
fi
# --device=cpu is the default: the same losses, step for step.
on_cpu="$TEST_TMPDIR/on_cpu.jsonl"
"$train" "${tiny[@]}" --schedule=paci --stages=2 --microbatches=2 --batches=6 --eval_every=3 \
  --device=cpu --out="$on_cpu"
losses() { grep -o '"\(train\|val\)_loss":[^,}]*' "$1"; }
if [[ -z "$(losses "$out")" || "$(losses "$out")" != "$(losses "$on_cpu")" ]]; then
  echo "FAIL: --device=cpu trained other losses than the default:"; diff <(losses "$out") \
    <(losses "$on_cpu"); failures=$((failures + 1))
fi

echo "$failures failures"
[[ $failures -eq 0 ]]
