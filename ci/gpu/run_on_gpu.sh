#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (the device tool runs it with ci/gpu/debs
# carried): build, run the tests, measure; everything lands in $OUT (default ./gpu-out) for
# reports/gpu/. Usage, from the repository root: ci/gpu/run_on_gpu.sh
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$root/gpu-out}
build=${BUILD:-/tmp/pipebench-gpu}
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1

# 1. The machine, as the report's manifest records it.
{ date -u; git -C "$root" rev-parse HEAD 2>/dev/null || echo "commit: not a git checkout";
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader;
  nvcc --version | tail -1; nproc; } > "$out/machine.txt"
# 2. Build (ci/gpu/build.sh: one line a step).
"$root/ci/gpu/build.sh" "$build" || { echo "BUILD FAILED"; exit 1; }
# 3. Tests: the device path against the CPU, NCCL when two GPUs are visible, and the CPU suites
#    the device path touches, under this LibTorch.
status=0
for test in device_test executor_gpu_test rank_runtime_gpu_test communicator_test \
            message_order_test executor_test cost_measurement_test rank_runtime_test; do
  timeout 300 "$build/$test" --gtest_output="json:$out/$test.json" > "$out/$test.txt" 2>&1 \
    && echo "PASSED $test" || { echo "FAILED $test"; tail -30 "$out/$test.txt"; status=1; }
done
# 4. Measurements on the synthetic corpus: a GPT-2-small-sized stack (12 layers, width 768, 12
#    heads, 1024 context) on one stage; PACI against 1F1B-flush at p = 2 in one process and as two
#    ranks sharing the GPU (Gloo: NCCL refuses two ranks on one device).
model=layers=12,embed=768,heads=12,mlp_ratio=4,context=1024
common=(--data=synthetic --model=$model --micro_batch_size=8 --eval_every=0 --eval_tokens=1024
        --device=cuda)
timeout 240 "$build/train" "${common[@]}" --schedule=1f1b_flush --stages=1 --microbatches=1 \
  --batches=30 --out="$out/p1_tokens.jsonl" || status=1
for schedule in 1f1b_flush paci; do
  timeout 240 "$build/train" "${common[@]}" --schedule=$schedule --stages=2 --microbatches=8 \
    --batches=12 --out="$out/p2_executor_$schedule.jsonl" || status=1
  timeout 300 "$build/launch" --nproc=2 --train="$build/train" -- "${common[@]}" \
    --schedule=$schedule --stages=2 --microbatches=8 --batches=12 --transport=gloo \
    > "$out/p2_ranks_$schedule.jsonl" || status=1
done
echo "exit status $status"
exit $status
