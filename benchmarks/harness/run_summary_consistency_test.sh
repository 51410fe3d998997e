#!/bin/bash
# One metric, one name: simulate, train, launch and the harness (its sim, executor and
# distributed cells) run the same PACI configuration and must write run summaries of one schema
# whose schedule facts agree (parameters, weights, micro-batches, drift and its bound, live weight
# versions per model stage), and whose training losses agree where the math is the same
# (single-process, distributed and the harness's executor and distributed cells).
set -u
simulate="$PWD/$1"
train="$PWD/$2"
launch="$PWD/$3"
runner="$PWD/$4"
config="$PWD/$5"
dir="${TEST_TMPDIR:-/tmp}/summaries"
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$dir" && mkdir -p "$dir"
run=(--schedule=paci --stages=2 --microbatches=4 --batches=3)
training=(--data=synthetic --model=layers=2,embed=16,heads=2,mlp_ratio=2,context=16
          --micro_batch_size=4 --eval_every=0 --eval_tokens=128 --threads=1)

"$simulate" "${run[@]}" >"$dir/simulate.jsonl" || fail "simulate failed"
"$train" "${run[@]}" "${training[@]}" >"$dir/train.jsonl" || fail "train failed"
"$launch" --nproc=2 --master_port=$((20000 + RANDOM % 12000)) -- "${run[@]}" "${training[@]}" \
  >"$dir/launch.jsonl" || fail "launch failed"
"$runner" --config="$config" --out_dir="$dir/harness" --fresh >"$dir/harness.log" 2>&1 ||
  { cat "$dir/harness.log"; fail "the harness failed"; }

/usr/bin/python3 - "$dir" <<'PY' || exit 1
import json, sys

d = sys.argv[1]
def last_summary(path, wrapped=True):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    return lines[-1]["summary"] if wrapped else lines[-1]
runs = {"simulate": last_summary(f"{d}/simulate.jsonl", wrapped=False),
        "train": last_summary(f"{d}/train.jsonl"),
        "launch": last_summary(f"{d}/launch.jsonl")}
for record in map(json.loads, open(f"{d}/harness/results.jsonl")):
    if record["kind"] != "costs":
        assert record["status"] == "ok", record
        runs["harness " + record["kind"]] = record["result"]["summary"]
assert sorted(runs) == ["harness distributed", "harness executor", "harness sim", "launch",
                        "simulate", "train"], sorted(runs)
failures = []
def check(ok, message):
    if not ok:
        failures.append(message)

backends = {"simulate": "simulator", "harness sim": "simulator", "train": "executor",
            "harness executor": "executor", "launch": "distributed",
            "harness distributed": "distributed"}
for name, s in runs.items():
    check(s["schema_version"] == 1, f"{name}: schema_version {s['schema_version']}")
    check(s["backend"] == backends[name], f"{name}: backend {s['backend']}")

def facts(s):
    stages = [{k: m[k] for k in ("model_stage", "rank", "max_drift", "drift_bound",
                                 "max_live_weight_versions")} for m in s["model_stages"]]
    return {k: s[k] for k in ("schedule", "params", "weights", "synchronous", "microbatches",
                              "max_drift")} | {"model_stages": stages}
reference = facts(runs["simulate"])
check(reference["max_drift"] == 1 and reference["model_stages"][0]["drift_bound"] == 1,
      f"PACI at p = 2 must cross one update at stage 0: {reference}")
for name, s in runs.items():
    check(facts(s) == reference, f"{name} disagrees with simulate:\n  {facts(s)}\n  {reference}")

# The same name holds the same kind of value everywhere: every key path any two summaries share
# has one JSON type, and each clock block has the same fields wherever it appears.
def paths(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for v in value:
            yield from paths(v, prefix + "[]")
    else:
        yield prefix, "number" if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else type(value).__name__
types = {}
for name, s in runs.items():
    for path, kind in paths(s):
        types.setdefault(path, set()).add(kind)
for path, kinds in types.items():
    check(len(kinds) == 1, f"{path} has types {kinds}")
for clock in ("simulated", "measured"):
    fields = {name: set(s[clock]) - {"bubble_fraction", "tokens_per_second"}
              for name, s in runs.items() if clock in s}
    check(len({frozenset(f) for f in fields.values()}) == 1, f"{clock} fields differ: {fields}")
for name in ("train", "harness executor"):
    check({"simulated", "measured"} <= set(runs[name]), f"{name} lacks a clock")
for name in ("launch", "harness distributed"):
    check("measured" in runs[name] and "simulated" not in runs[name], f"{name}: clocks")

# One training run, four ways: the same losses (PACI's per-rank order does not depend on timing).
losses = {name: runs[name]["train_losses"] for name in
          ("train", "launch", "harness executor", "harness distributed")}
for name, values in losses.items():
    check(len(values) == 3 and all(abs(a - b) < 1e-5 for a, b in zip(values, losses["train"])),
          f"{name} losses {values} differ from train's {losses['train']}")
if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
print("summaries agree:", ", ".join(sorted(runs)))
PY
