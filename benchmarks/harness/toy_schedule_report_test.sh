#!/bin/bash
# Adding a baseline: a schedule file linked into the runner plus one config line puts it in every
# table of the report and runs it in every backend. Its time per micro-batch is (F+B) * p, so at p = 2 it must be slower than
# 1F1B-flush, and its training matches flush's losses (the same math, another order).
set -u
runner="$1"
config="$2"
out="${TEST_TMPDIR:-/tmp}/toy"
fail() { echo "FAIL: $*"; exit 1; }

"$runner" --config="$PWD/$config" --out_dir="$out" --fresh >"$out.log" 2>&1 ||
  { cat "$out.log"; fail "the experiment failed"; }
cat "$out/report.md"
grep -q "^| toy_sequential | " "$out/report.md" || fail "no throughput row for toy_sequential"
grep -q "^| 2 | 2 | toy_sequential | " "$out/report.md" || fail "no time-to-accuracy row"
grep -q "^throughput,sim,.*,toy_sequential,toy_sequential,2,4,.*,throughput," "$out/summary.csv" ||
  fail "no summary row"
grep -q '"name": "throughput/toy_sequential/p:2/m:4/sim"' "$out/benchmark.json" ||
  fail "no benchmark entry"
# Linked through the runner's macro, the schedule also reaches the single-process executor and the
# distributed runtime (its ranks run the runner's own train binary).
for kind in executor distributed; do
  grep "\"kind\":\"$kind\"" "$out/results.jsonl" | grep '"variant":"toy_sequential"' |
    grep -q '"status":"ok"' || { grep "toy_sequential" "$out/results.jsonl"; fail "toy_sequential did not run as a $kind cell"; }
done
/usr/bin/python3 - "$out/summary.csv" <<'PY' || fail "toy_sequential numbers are wrong"
import csv, sys
rows = {(r["kind"], r["variant"], r["metric"]): float(r["mean"]) for r in csv.DictReader(open(sys.argv[1]))}
toy = rows[("sim", "toy_sequential", "throughput")]
flush = rows[("sim", "1f1b_flush", "throughput")]
assert toy < flush, (toy, flush)
toy_loss = rows[("training", "toy_sequential", "final_val_loss")]
flush_loss = rows[("training", "1f1b_flush", "final_val_loss")]
assert abs(toy_loss - flush_loss) < 1e-4, (toy_loss, flush_loss)
PY
echo PASS
