#!/bin/bash
# Every check of the real ci/thresholds.json can fail. On a slice of the smoke experiment (its
# studies with only the checked schedules: the same rows), an honest run passes every check, and
# an injected regression of the kind a check guards fails exactly the checks it should:
#  - PACI and ZB-H1 slowed 3x (--slow_down: simulated costs, and the real actions of executor and
#    distributed cells): the simulated throughput ratios, PACI's measured 2-process tokens/s ratio
#    and its time-to-accuracy speedup;
#  - 1F1B-flush's real actions slowed 3x: the executor overhead;
#  - the rows of the other checks set to a regressed value (peak memory 20% over flush's, drift one
#    past the bound, a 20% loss gap, an entangled supernet as large as weight sharing), since no
#    knob regresses the code there without changing it;
#  - a check whose rows are missing fails too.
set -u
runner="$1"
gate="$2"
smoke="$3"
slice="$4"
thresholds="$5"
out="${TEST_TMPDIR:-/tmp}/gate_regression"
mkdir -p "$out"
fail() { echo "FAIL: $*"; exit 1; }

# The slice must stay the smoke experiment's studies, schedules and optimizers aside.
/usr/bin/python3 - "$smoke" "$slice" <<'PY' || fail "ci/testdata/gate_slice.json no longer matches smoke.json"
import json, sys
def load(path):
    return json.loads("".join(l for l in open(path) if not l.lstrip().startswith("//")))
smoke, sliced = load(sys.argv[1]), load(sys.argv[2])
assert (smoke["seeds"], smoke["data"]) == (sliced["seeds"], sliced["data"])
full = {s["name"]: s for s in smoke["studies"]}
for study in sliced["studies"]:
    whole = full[study["name"]]
    for key in set(whole) | set(study):
        if key in ("schedules", "optimizers"):
            assert all(x in whole[key] for x in study[key]), (study["name"], key)
        else:
            assert whole.get(key) == study.get(key), (study["name"], key)
PY

# "index status" per check of the real thresholds, for one report folder.
statuses() {
  /usr/bin/python3 - "$gate" "$1" "$thresholds" <<'PY'
import csv, importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("gate", sys.argv[1])
gate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gate)
rows = list(csv.DictReader(open(os.path.join(sys.argv[2], "summary.csv"))))
for i, check in enumerate(json.load(open(sys.argv[3]))["checks"]):
    value, status, problem = gate.evaluate(rows, check)
    print(i, status, value, check["name"], problem)
PY
}
# expect FOLDER WHAT FAILING_INDEX...: exactly those checks fail.
expect() {
  local folder="$1" what="$2"
  shift 2
  statuses "$folder" >"$out/$what.status"
  local failing
  failing=$(awk '$2 != "ok" {print $1}' "$out/$what.status" | xargs)
  if [[ "$failing" != "$*" ]]; then
    cat "$out/$what.status"
    fail "$what: checks failing are [$failing], expected [$*]"
  fi
  echo "$what: checks failing [$failing], as expected"
}

run() { "$runner" --config="$PWD/$slice" --fresh "$@"; }
run --out_dir="$out/honest" >"$out/honest.log" 2>&1 || { cat "$out/honest.log"; fail "honest run"; }
expect "$out/honest" honest

run --out_dir="$out/paci_slow" --slow_down=paci:3,zb_h1:3 >"$out/paci_slow.log" 2>&1 ||
  { cat "$out/paci_slow.log"; fail "the slowed run failed"; }
# 0-2: simulated throughput ratios; 4: measured tokens/s ratio; 6: time-to-accuracy speedup.
expect "$out/paci_slow" "PACI and ZB-H1 slowed 3x" 0 1 2 4 6

run --out_dir="$out/flush_slow" --slow_down=1f1b_flush:3 >"$out/flush_slow.log" 2>&1 ||
  { cat "$out/flush_slow.log"; fail "the slowed run failed"; }
expect "$out/flush_slow" "1F1B-flush's real actions slowed 3x" 8

# edit NAME PYTHON_CONDITION METRIC SCALE_OR_VALUE: a copy of the honest folder with the rows the
# condition selects set to a regressed value ("*x" scales, else sets).
edit() {
  local name="$1"
  mkdir -p "$out/$name" && cp "$out/honest/summary.csv" "$out/$name/"
  /usr/bin/python3 - "$out/$name/summary.csv" "$2" "$3" "$4" <<'PY'
import csv, sys
path, condition, metric, change = sys.argv[1:]
rows = list(csv.DictReader(open(path)))
hits = 0
for r in rows:
    if r["metric"] == metric and eval(condition, {}, {"r": r}):
        old = float(r["mean"])
        r["mean"] = str(old * float(change[1:]) if change.startswith("*") else float(change))
        hits += 1
assert hits == 1, f"{hits} rows matched {condition} {metric}"
with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=rows[0].keys())
    w.writeheader()
    w.writerows(rows)
PY
}
edit memory "r['variant'] == 'paci' and r['stages'] == '4' and r['microbatches'] == '8'" \
  peak_memory_max_bytes "*1.2" && expect "$out/memory" "PACI's memory 20% over flush's" 3
edit drift "r['kind'] == 'distributed' and r['variant'] == 'paci'" drift_over_bound 1 &&
  expect "$out/drift" "PACI's drift one past its bound" 5
edit loss "r['kind'] == 'training' and r['variant'] == 'paci'" final_loss_gap 0.2 &&
  expect "$out/loss" "a 20% loss gap" 7
edit nas "r['kind'] == 'nas' and r['storage'] == 'entangled'" supernet_bytes "*4" &&
  expect "$out/nas" "an entangled supernet as large as weight sharing" 9

# A check that matches no rows fails rather than passing silently.
sed 's/"paci"/"no_such_schedule"/' "$thresholds" >"$out/missing.json"
if /usr/bin/python3 "$gate" "$out/honest" "$out/missing.json" >"$out/missing.log" 2>&1; then
  fail "the gate passed with checks that match nothing"
fi
grep -q "MISSING" "$out/missing.log" || fail "missing rows are not reported"
/usr/bin/python3 "$gate" "$out/honest" "$thresholds" || fail "the gate's own verdict on the honest run"
echo PASS
