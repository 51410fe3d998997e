#!/bin/bash
# The runner end to end: a failing cell is recorded and the matrix goes on; a rerun reuses every
# finished cell; a run cut short continues with only the missing cells; bad configs are errors.
set -u
runner="$1"
config="$PWD/$2"
out="${TEST_TMPDIR:-/tmp}/runner"
fail() { echo "FAIL: $*"; exit 1; }
count() { grep -c "\"status\":\"$1\"" "$out/results.jsonl"; }

# 1. One diverging training run: exit 1, recorded as failed with the executor's error, the
#    other 5 cells (2 costs, 2 sims... see the config) finish and the report is written.
if "$runner" --config="$config" --out_dir="$out" --fresh >"$out.1.log" 2>&1; then
  cat "$out.1.log"; fail "a failed cell did not fail the run"
fi
cat "$out.1.log"
[[ $(count failed) == 1 ]] || fail "expected 1 failed record"
grep '"status":"failed"' "$out/results.jsonl" | grep -q "non-finite" ||
  fail "the failure does not carry the executor's error"
[[ $(count ok) -ge 5 ]] || fail "the other cells did not finish"
grep -q "Cells that did not finish" "$out/report.md" || fail "the report hides the failure"
grep -q "cells failed" "$out.1.log" || fail "no failure summary on stderr"
ok_before=$(count ok)

# 2. A rerun reuses every finished cell and retries only the failed one.
"$runner" --config="$config" --out_dir="$out" >"$out.2.log" 2>&1
grep -q "running 1 of $((ok_before + 1)) cells ($ok_before finished earlier)" "$out.2.log" ||
  { cat "$out.2.log"; fail "the rerun did not reuse the finished cells"; }

# 3. A run cut short (its last two records lost) continues with just those cells.
grep -v '"kind":"sim"' "$out/results.jsonl" >"$out/partial" && mv "$out/partial" "$out/results.jsonl"
"$runner" --config="$config" --out_dir="$out" >"$out.3.log" 2>&1
grep -q "running 3 of" "$out.3.log" || { cat "$out.3.log"; fail "did not continue (2 sims + the failed cell)"; }
[[ $(count ok) == "$ok_before" ]] || fail "the continued run lost records"

# 4. Bad input: clear errors, no report.
echo '{"experiment": "x", "description": "", "studies": [], "sedes": 1}' >"$out.bad.json"
"$runner" --config="$out.bad.json" --out_dir="$out.bad" >"$out.4.log" 2>&1 && fail "bad config accepted"
grep -q "sedes: unknown key" "$out.4.log" || { cat "$out.4.log"; fail "unclear config error"; }
"$runner" --config=/nonexistent.json >"$out.5.log" 2>&1 && fail "missing config accepted"
grep -q "cannot read experiment config '/nonexistent.json'" "$out.5.log" || fail "unclear missing-file error"
"$runner" --config="$config" --out_dir="$out" --slow_down=paci >"$out.6.log" 2>&1 && fail "bad --slow_down accepted"
grep -q "slow_down must look like" "$out.6.log" || fail "unclear --slow_down error"
echo PASS
