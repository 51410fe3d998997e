#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (the device tool runs it with ci/gpu/debs
# carried): build, GPU tests, measurements, then the CPU suites the device path touches, in that
# order and within BUDGET seconds (default 540: one device call is 600), so what is cut short is
# the least needed. Everything lands in $OUT (default ./gpu-out) for reports/gpu/.
# Usage, from the repository root: ci/gpu/run_on_gpu.sh
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$root/gpu-out}
build=${BUILD:-/tmp/pipebench-gpu}
deadline=$((SECONDS + ${BUDGET:-540}))
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1
status=0
# Runs "$@" with what is left of the budget (at most $1 seconds); records a timeout as a failure.
bounded() {
  local most=$1; shift
  local left=$((deadline - SECONDS))
  (( left > 5 )) || { echo "OUT OF TIME before: $*"; status=1; return 1; }
  timeout $(( most < left ? most : left )) "$@"
}
# A gtest binary: PASSED (saying how many of its tests skipped) or FAILED.
gtest() {
  local test=$1
  if bounded "$2" "$build/$test" --gtest_output="json:$out/$test.json" > "$out/$test.txt" 2>&1; then
    # gtest's summary line: "[  SKIPPED ] N tests, listed below:".
    local skipped; skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\?, listed below:$/\1/p' "$out/$test.txt")
    echo "PASSED $test${skipped:+ ($skipped skipped, see $test.txt)}"
  else
    echo "FAILED $test"; tail -30 "$out/$test.txt"; status=1
  fi
}

# 1. The machine, as the report's manifest records it.
{ date -u; git -C "$root" rev-parse HEAD 2>/dev/null || echo "commit: not a git checkout";
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader;
  nvcc --version | tail -1; echo "cores: $(nproc)"; } > "$out/machine.txt"
# 2. Build (ci/gpu/build.sh: one line a step).
bounded 300 "$root/ci/gpu/build.sh" "$build" || { echo "BUILD FAILED"; exit 1; }
export LD_LIBRARY_PATH="$build/debs/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# 3. The device path against the CPU (NCCL's tests skip on one GPU: NCCL wants a GPU per rank).
for test in device_test executor_gpu_test rank_runtime_gpu_test; do gtest $test 120; done
# 4. Measurements on the synthetic corpus: a GPT-2-small-sized stack (12 layers, width 768, 12
#    heads, 1024 context) on one stage; PACI against 1F1B-flush at p = 2 in one process and as two
#    ranks sharing the GPU (over Gloo: NCCL refuses two ranks on one device).
model=layers=12,embed=768,heads=12,mlp_ratio=4,context=1024
common=(--data=synthetic --model=$model --micro_batch_size=8 --eval_every=0 --eval_tokens=1024
        --device=cuda)
bounded 90 "$build/train" "${common[@]}" --schedule=1f1b_flush --stages=1 --microbatches=1 \
  --batches=30 --out="$out/p1_tokens.jsonl" || status=1
for schedule in 1f1b_flush paci; do
  bounded 60 "$build/train" "${common[@]}" --schedule=$schedule --stages=2 --microbatches=8 \
    --batches=12 --out="$out/p2_executor_$schedule.jsonl" || status=1
  bounded 90 "$build/launch" --nproc=2 --train="$build/train" -- "${common[@]}" \
    --schedule=$schedule --stages=2 --microbatches=8 --batches=12 --transport=gloo \
    > "$out/p2_ranks_$schedule.jsonl" || status=1
done
# 5. The CPU suites of what the device path touches, under this LibTorch, while time is left.
for test in communicator_test message_order_test executor_test cost_measurement_test \
            rank_runtime_test; do gtest $test 300; done
echo "exit status $status, $SECONDS s"
exit $status
