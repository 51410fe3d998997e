#!/bin/bash
# Every check of the real ci/thresholds.json can fail. The honest smoke run passes every check, and
# an injected regression of the kind a check guards fails exactly the checks it should:
#  - PACI and ZB-H1 slowed 3x (--slow_down: simulated costs, and the real actions of executor and
#    distributed cells): the simulated throughput ratios, PACI's measured 2-process tokens/s ratio
#    and its time-to-accuracy speedup;
#  - 1F1B-flush's real actions slowed 3x: the executor overhead;
#  - the rows of the other checks set to a regressed value (peak memory 20% over flush's, drift one
#    past the bound, a 20% loss gap, an entangled supernet as large as weight sharing), since no
#    knob regresses the code there without changing it;
#  - a check whose rows are missing, or whose denominator is 0, fails too.
# The honest run is the smoke experiment itself: .ci/run runs it once, gates it and hands its folder
# over in PIPEBENCH_GATE_SMOKE_DIR; without it (a plain `bazel test`) the test runs it here. The
# slowed runs are slices of smoke.json made here (only the cells their checks read), so they cannot
# drift from it.
set -u
runner="$1"
gate="$2"
smoke="$3"
thresholds="$4"
out="${TEST_TMPDIR:-/tmp}/gate_regression"
mkdir -p "$out"
fail() { echo "FAIL: $*"; exit 1; }

# slice NAME STUDY:KIND[:SCHEDULES[:OVERRIDES]]...: a copy of smoke.json with only those studies,
# each with only the given backends' cells ("sim", "executor", "distributed", or the study's own
# kind), the given schedules and JSON overrides (e.g. {"repeats": 3}).
slice() {
  local name="$1"; shift
  /usr/bin/python3 - "$smoke" "$out/$name.json" "$@" <<'PY' || fail "cannot slice $smoke"
import json, sys
def load(path):
    return json.loads("".join(l for l in open(path) if not l.lstrip().startswith("//")))
smoke, target = load(sys.argv[1]), sys.argv[2]
studies = {s["name"]: s for s in smoke["studies"]}
kept = []
for spec in sys.argv[3:]:
    parts = spec.split(":", 3)
    study = dict(studies[parts[0]])
    if study["kind"] == "pipeline":
        assert parts[1] in study["backends"], spec
        study["backends"] = [parts[1]]
    if len(parts) > 2 and parts[2]:
        names = parts[2].split(",")
        assert all(n in study["schedules"] for n in names), spec
        study["schedules"] = names
    if len(parts) > 3:
        study.update(json.loads(parts[3]))
    kept.append(study)
smoke["studies"] = kept
smoke["experiment"] = "gate_slice"
json.dump(smoke, open(target, "w"), indent=1)
PY
}

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
# expect FOLDER WHAT CHECKED FAILING...: of the checks CHECKED ("all", or indices joined by
# commas: those the folder has rows for), exactly FAILING fail.
expect() {
  local folder="$1" what="$2" checked="$3"
  shift 3
  statuses "$folder" >"$out/$what.status"
  local failing
  failing=$(awk -v checked=",$checked," \
    '(checked == ",all," || index(checked, "," $1 ",")) && $2 != "ok" {print $1}' \
    "$out/$what.status" | xargs)
  if [[ "$failing" != "$*" ]]; then
    cat "$out/$what.status"
    fail "$what: checks failing are [$failing], expected [$*]"
  fi
  echo "$what: checks failing [$failing], as expected"
}

honest="${PIPEBENCH_GATE_SMOKE_DIR:-}"
if [[ -n "$honest" ]]; then
  [[ -f "$honest/summary.csv" ]] || fail "PIPEBENCH_GATE_SMOKE_DIR=$honest holds no summary.csv"
  /usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/manifest.json")); \
assert m["config"]["experiment"] == "smoke" and m.get("complete"), m.get("complete")' "$honest" ||
    fail "$honest is not a completed smoke run"
  echo "honest run: the smoke run in $honest"
else
  honest="$out/honest"
  "$runner" --config="$PWD/$smoke" --fresh --out_dir="$honest" >"$out/honest.log" 2>&1 ||
    { cat "$out/honest.log"; fail "honest run"; }
fi
expect "$honest" honest all

# PACI's measured ratio is a median over interleaved pairs: 3 pairs show a 3x slow-down.
slice paci_slow throughput:sim:1f1b_flush,zb_h1,paci runtime:distributed::'{"repeats": 3}' \
  time_to_accuracy:training
"$runner" --config="$out/paci_slow.json" --fresh --out_dir="$out/paci_slow" \
  --slow_down=paci:3,zb_h1:3 >"$out/paci_slow.log" 2>&1 ||
  { cat "$out/paci_slow.log"; fail "the slowed run failed"; }
# 0-2: simulated throughput ratios; 4: measured tokens/s ratio; 6: time-to-accuracy speedup.
expect "$out/paci_slow" "PACI and ZB-H1 slowed 3x" 0,1,2,3,4,5,6,7 0 1 2 4 6

slice flush_slow runtime:executor:1f1b_flush
"$runner" --config="$out/flush_slow.json" --fresh --out_dir="$out/flush_slow" \
  --slow_down=1f1b_flush:3 >"$out/flush_slow.log" 2>&1 ||
  { cat "$out/flush_slow.log"; fail "the slowed run failed"; }
expect "$out/flush_slow" "1F1B-flush's real actions slowed 3x" 8 8

# edit NAME PYTHON_CONDITION METRIC SCALE_OR_VALUE: a copy of the honest folder with the rows the
# condition selects set to a regressed value ("*x" scales, else sets).
edit() {
  local name="$1"
  mkdir -p "$out/$name" && cp "$honest/summary.csv" "$out/$name/"
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
  peak_memory_max_bytes "*1.2" && expect "$out/memory" "PACI's memory 20% over flush's" all 3
edit drift "r['kind'] == 'distributed' and r['variant'] == 'paci'" drift_over_bound 1 &&
  expect "$out/drift" "PACI's drift one past its bound" all 5
edit loss "r['kind'] == 'training' and r['variant'] == 'paci'" final_loss_gap 0.2 &&
  expect "$out/loss" "a 20% loss gap" all 7
edit nas "r['kind'] == 'nas' and r['storage'] == 'entangled'" supernet_bytes "*4" &&
  expect "$out/nas" "an entangled supernet as large as weight sharing" all 9
# A ratio over a zero denominator is a missing measurement, not an infinite speedup.
edit zero "r['kind'] == 'sim' and r['variant'] == '1f1b_flush' and r['stages'] == '2' and \
r['microbatches'] == '2'" throughput 0 && expect "$out/zero" "flush's p=2 throughput 0" all 1
grep -q "^1 MISSING .*denominator .* is 0$" "$out/flush's p=2 throughput 0.status" ||
  fail "a zero denominator is not reported as such"

# A check that matches no rows fails rather than passing silently.
sed 's/"paci"/"no_such_schedule"/' "$thresholds" >"$out/missing.json"
if /usr/bin/python3 "$gate" "$honest" "$out/missing.json" >"$out/missing.log" 2>&1; then
  fail "the gate passed with checks that match nothing"
fi
grep -q "MISSING" "$out/missing.log" || fail "missing rows are not reported"
/usr/bin/python3 "$gate" "$honest" "$thresholds" || fail "the gate's own verdict on the honest run"
echo PASS
