#!/bin/bash
# The speedup gate passes on an honest run and fails, naming the check, when PACI is slowed down.
set -u
runner="$1"
gate="$2"
config="$3"
thresholds="$4"
out="${TEST_TMPDIR:-/tmp}/gate"

fail() { echo "FAIL: $*"; exit 1; }

"$runner" --config="$PWD/$config" --out_dir="$out/honest" --fresh >"$out.honest.log" 2>&1 ||
  { cat "$out.honest.log"; fail "the experiment failed"; }
/usr/bin/python3 "$gate" "$out/honest" "$thresholds" >"$out.gate1.log" 2>&1 ||
  { cat "$out.gate1.log"; fail "the gate failed an honest run"; }
grep -q "passed, 1 checks" "$out.gate1.log" || fail "no pass line"

"$runner" --config="$PWD/$config" --out_dir="$out/slowed" --fresh --slow_down=paci:2 \
  >"$out.slowed.log" 2>&1 || { cat "$out.slowed.log"; fail "the slowed experiment failed"; }
if /usr/bin/python3 "$gate" "$out/slowed" "$thresholds" >"$out.gate2.log" 2>&1; then
  cat "$out.gate2.log"
  fail "the gate passed with PACI slowed down 2x"
fi
cat "$out.gate2.log"
grep -q "PACI / 1F1B-flush simulated throughput, p=4 m=4 .* FAIL" "$out.gate2.log" ||
  fail "the failing check is not named in the table"
grep -q '"slow_down":2' "$out/slowed/results.jsonl" || fail "slowed records do not say so"

# A check whose rows are missing fails too, rather than passing silently.
sed 's/"paci"/"no_such_schedule"/' "$thresholds" >"$out.missing.json"
if /usr/bin/python3 "$gate" "$out/honest" "$out.missing.json" >"$out.gate3.log" 2>&1; then
  fail "the gate passed with a check that matches nothing"
fi
grep -q "MISSING" "$out.gate3.log" || fail "missing rows are not reported"
echo PASS
