#!/bin/bash
# The runner end to end, in a scratch git checkout (so runs have a commit): a failing cell is
# recorded and the matrix goes on; runs are fresh unless they continue an interrupted run of the
# same config and commit (or --resume); the report compares itself with an earlier one; bad input
# and a broken environment stop the run before its first cell with one message.
set -u
runner="$PWD/$1"
config="$PWD/$2"
repo="${TEST_TMPDIR:-/tmp}/checkout"
out="$repo/out"
fail() { echo "FAIL: $*"; exit 1; }
count() { grep -c "\"status\":\"$1\"" "$out/results.jsonl"; }
count_in() { grep -c "\"status\":\"$2\"" "$1/results.jsonl"; }
first_line() { head -n 1 "$1"; }
# What an interrupted run leaves: a manifest that says so, and the records it wrote.
interrupt() {
  sed -i 's/"complete": true/"complete": false/' "$out/manifest.json"
  grep -v "$1" "$out/results.jsonl" >"$out/partial" && mv "$out/partial" "$out/results.jsonl"
}

rm -rf "$repo" && mkdir -p "$repo/configs/nas"
cp -r configs/nas/tiny.json configs/nas/presets "$repo/configs/nas/"
git -C "$repo" init -q && git -C "$repo" add -A &&
  git -C "$repo" -c user.email=test@pipebench -c user.name=test commit -qm one ||
  fail "cannot make the scratch checkout"
commit=$(git -C "$repo" rev-parse HEAD | cut -c1-12)
export BUILD_WORKSPACE_DIRECTORY="$repo"  # as under `bazel run`: the runner's repository root
run() { "$runner" --config="$config" --out_dir="$out" "$@"; }

# 1. One diverging training run: exit 1, recorded as failed with the executor's error, the
#    other 5 cells finish and the report is written.
if run >"$out.1.log" 2>&1; then cat "$out.1.log"; fail "a failed cell did not fail the run"; fi
cat "$out.1.log"
[[ $(count failed) == 1 ]] || fail "expected 1 failed record"
grep '"status":"failed"' "$out/results.jsonl" | grep -q "non-finite" ||
  fail "the failure does not carry the executor's error"
[[ $(count ok) == 5 ]] || fail "the other cells did not finish"
grep -q "Cells that did not finish" "$out/report.md" || fail "the report hides the failure"
grep -q "cells failed" "$out.1.log" || fail "no failure summary on stderr"
grep -q '"complete": true' "$out/manifest.json" || fail "the manifest does not say the run finished"
grep -q "\"git_commit\": \"$commit" "$out/manifest.json" || fail "the manifest lacks the commit"
cp -r "$out" "$repo/first"

# 2. Rerunning a finished run runs it again, fresh, and says so first.
run >"$out.2.log" 2>&1
first_line "$out.2.log" | grep -q "^starting fresh: replacing the earlier run's 5 of 6 cells done at commit $commit (it finished" ||
  { cat "$out.2.log"; fail "a finished run was not rerun fresh"; }
grep -q "running 6 of 6 cells" "$out.2.log" || fail "the fresh run did not run every cell"
[[ $(wc -l <"$out/results.jsonl") == 6 ]] || fail "a fresh run kept earlier records"

# 3. An interrupted run of the same config and commit continues with just its missing cells.
interrupt '"kind":"sim"'
run >"$out.3.log" 2>&1
first_line "$out.3.log" | grep -q "^resuming: 3 of 6 cells done at commit $commit$" ||
  { cat "$out.3.log"; fail "the interrupted run was not resumed"; }
grep -q "running 3 of 6 cells (3 finished earlier)" "$out.3.log" ||
  fail "did not continue with the 2 sims and the failed cell"
[[ $(count ok) == 5 ]] || fail "the continued run lost records"

# 3b. A record another run summary schema wrote is not reused: its cell runs again and the record
#     is dropped, so the report never sees two records of one cell.
interrupt '"kind":"sim"'
sed -i '/"study":"stable"/ s/"schema_version":1/"schema_version":0/' "$out/results.jsonl"
run >"$out.3b.log" 2>&1
grep -q "results.jsonl:[0-9]*: a record of an older run summary schema: dropped; its cell runs again" \
  "$out.3b.log" ||
  { cat "$out.3b.log"; fail "a stale-schema record was not dropped"; }
grep -q "running 4 of 6 cells (2 finished earlier)" "$out.3b.log" ||
  { cat "$out.3b.log"; fail "the stale record's cell did not run again"; }
! grep -q '"schema_version":0' "$out/results.jsonl" || fail "the stale record stayed"
[[ $(count ok) == 5 ]] || fail "the continued run lost records"

# 4. After a new commit the same interrupted folder starts fresh, unless --resume.
git -C "$repo" -c user.email=test@pipebench -c user.name=test commit -q --allow-empty -m two
interrupt '"kind":"sim"'
run >"$out.4.log" 2>&1
first_line "$out.4.log" | grep -q "^starting fresh: .*(the code changed; --resume would continue it)" ||
  { cat "$out.4.log"; fail "a run at another commit was resumed"; }
git -C "$repo" -c user.email=test@pipebench -c user.name=test commit -q --allow-empty -m three
interrupt '"kind":"sim"'
run --resume --compare_to="$repo/first" >"$out.5.log" 2>&1
first_line "$out.5.log" | grep -q "^resuming (--resume): 3 of 6 cells done at commit" ||
  { cat "$out.5.log"; fail "--resume did not continue"; }
# The manifest speaks for this run only: the records it kept name their own commit.
grep -q '"records_from"' "$out/manifest.json" || fail "the manifest claims the kept records"
grep -q "Records come from more than one run" "$out/report.md" || fail "the report hides the mix"

# 5. The report compares itself with an earlier one (here run 1's, the same numbers).
grep -q "## Reproduction check" "$out/report.md" || fail "no reproduction check in the report"
grep -Eq '\*\*([0-9]+) of \1 judged ratios reproduced\*\*' "$out/report.md" ||
  { grep -A3 "Reproduction check" "$out/report.md"; fail "a rerun did not reproduce itself"; }
[[ -s $out/reproduction.json ]] || fail "no reproduction.json"

# 6. Bad input: clear errors, no report, no cell run.
echo '{"experiment": "x", "description": "", "studies": [], "sedes": 1}' >"$out.bad.json"
"$runner" --config="$out.bad.json" --out_dir="$out.bad" >"$out.6.log" 2>&1 && fail "bad config accepted"
grep -q "sedes: unknown key" "$out.6.log" || { cat "$out.6.log"; fail "unclear config error"; }
"$runner" --config=/nonexistent.json >"$out.7.log" 2>&1 && fail "missing config accepted"
grep -q "cannot read experiment config '/nonexistent.json'" "$out.7.log" || fail "unclear missing-file error"
run --slow_down=paci >"$out.8.log" 2>&1 && fail "bad --slow_down accepted"
grep -q "slow_down must look like" "$out.8.log" || fail "unclear --slow_down error"
sed 's/"schedules": \["1f1b_flush", "paci"\]/"schedules": ["1f1b_flush", "pacii"]/' "$config" >"$out.sched.json"
"$runner" --config="$out.sched.json" --out_dir="$out.sched" >"$out.9.log" 2>&1 && fail "unknown schedule accepted"
grep -q "pacii" "$out.9.log" || { cat "$out.9.log"; fail "the error does not name the schedule"; }
[[ ! -e $out.sched/results.jsonl ]] || fail "cells ran despite an unknown schedule"

# 7. A broken environment stops the run before its first cell, with one message.
sed 's|"data": "synthetic"|"data": "/nonexistent/corpus.txt"|' "$config" >"$out.data.json"
"$runner" --config="$out.data.json" --out_dir="$out.data" >"$out.10.log" 2>&1 && fail "missing data accepted"
[[ $(grep -c "error" "$out.10.log") == 1 ]] || { cat "$out.10.log"; fail "not one message"; }
grep -q "data file '/nonexistent/corpus.txt' not found" "$out.10.log" || fail "unclear data error"
[[ ! -e $out.data/results.jsonl ]] || fail "cells ran without their data"
sed 's|"data": "synthetic"|"data": "tinyshakespeare"|' "$config" >"$out.shake.json"
"$runner" --config="$out.shake.json" --out_dir="$out.shake" --data="$config" >"$out.11.log" 2>&1 &&
  fail "a file that is not TinyShakespeare was accepted"
grep -q "is not TinyShakespeare: sha256 .*, expected 86c4e6aa" "$out.11.log" ||
  { cat "$out.11.log"; fail "unclear checksum error"; }
run --out_dir=/proc/pipebench >"$out.12.log" 2>&1 && fail "an unwritable folder was accepted"
grep -q "cannot create the output folder /proc/pipebench" "$out.12.log" ||
  { cat "$out.12.log"; fail "unclear output-folder error"; }
run --compare_to=/nonexistent >"$out.13.log" 2>&1 && fail "a missing reference was accepted"
grep -q "compare_to: /nonexistent holds no report" "$out.13.log" || fail "unclear --compare_to error"
# 8. A budget on the simulated clock: 1F1B-flush's time for 6 mini-batches. Flush trains exactly
#    those 6; PACI, without flushes, more in the same time.
"$runner" --config="$PWD/$(dirname "$2")/budget_experiment.json" --out_dir="$out.budget" \
  >"$out.14.log" 2>&1 || { cat "$out.14.log"; fail "the budget run failed"; }
# Mini-batches a budget cell trained: its summary's micro-batches over m.
batches_of() {
  /usr/bin/python3 -c 'import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["params"].get("variant") == sys.argv[2] and r["kind"] == "training":
        s = r["result"]["summary"]
        print(s["microbatches"] // s["params"]["microbatches"])' "$out.budget/results.jsonl" "$1"
}
[[ $(batches_of 1f1b_flush) == 6 ]] || fail "flush ran $(batches_of 1f1b_flush) batches, want 6"
(( $(batches_of paci) > 6 )) || fail "PACI ran $(batches_of paci) batches in flush's time for 6"
# Both decay their learning rate over the same 6 mini-batches (flush's), not over their own runs.
[[ $(grep -c '"horizon_batches":6' "$out.budget/results.jsonl") == 2 ]] ||
  fail "the budget group's runs do not share flush's cosine horizon of 6 mini-batches"
grep -q "over 6 mini-batches (1F1B-flush's in the budget)" "$out.budget/report.md" ||
  fail "the budget report does not state the shared horizon"
# Stages balanced by measured time: the costs record says which units each stage got.
grep '"kind":"costs"' "$out.budget/results.jsonl" | grep -q '"partition":\[\[0,' ||
  fail "the time-balanced costs record lacks its partition"
# 8b. A budget shorter than one mini-batch fails its cells with the field named; a target no run
#     reaches reads "not reached" in the report, not a number.
"$runner" --config="$PWD/$(dirname "$2")/bad_budget_experiment.json" --out_dir="$out.bad_budget" \
  >"$out.14b.log" 2>&1 && fail "a budget shorter than one mini-batch was accepted"
grep -q "1 of 4 cells failed" "$out.14b.log" || { cat "$out.14b.log"; fail "unclear failure count"; }
grep -q "budget_seconds: 1e-12 simulated seconds is less than one mini-batch of 1f1b_flush" \
  "$out.bad_budget/report.md" || { cat "$out.bad_budget/report.md"; fail "the budget error is not in the report"; }
grep -q "^| 2 | 2 | paci | .* | not reached (1 of 1) |" "$out.bad_budget/report.md" ||
  { cat "$out.bad_budget/report.md"; fail "an unreached target is not reported as such"; }
# 9. Ctrl-C mid-cell: the running cells are stopped with the runner (no orphan keeps computing),
#    finished records stay, and the same command then resumes with only the missing cells.
interrupt_config="$PWD/$(dirname "$2")/interrupt_experiment.json"
"$runner" --config="$interrupt_config" --out_dir="$out.int" >"$out.15.log" 2>&1 &
runner_pid=$!
# Interrupt once a training cell has reported steps (its progress file exists).
for _ in $(seq 1 300); do compgen -G "$out.int/cells/*.steps" >/dev/null && break; sleep 0.1; done
compgen -G "$out.int/cells/*.steps" >/dev/null || fail "no training cell started within 30 s"
kill -INT "$runner_pid"
wait "$runner_pid" && fail "an interrupted run exited 0"
grep -q "interrupted; the 2 finished cells are in" "$out.15.log" ||
  { cat "$out.15.log"; fail "no clear message on interruption"; }
pgrep -f -- "--run_cell=$out.int/" >/dev/null && fail "cells kept running after the runner stopped"
grep -q '"complete": false' "$out.int/manifest.json" || fail "the manifest claims a finished run"
"$runner" --config="$interrupt_config" --out_dir="$out.int" >"$out.16.log" 2>&1 ||
  { cat "$out.16.log"; fail "the resumed run failed"; }
first_line "$out.16.log" | grep -q "^resuming: 2 of 4 cells done" ||
  { cat "$out.16.log"; fail "the interrupted run was not resumed"; }
[[ $(grep -c '"status":"ok"' "$out.int/results.jsonl") == 4 ]] || fail "cells lost or duplicated"

# 10. A full disk (a file-size limit: writes fail with EFBIG): the run stops at the first record
#     it cannot append, with one message naming the file, and keeps every record before it; with
#     room again the same command continues the run and ends with each cell exactly once.
full="$out.full"
rm -rf "$full"
start=$SECONDS
( ulimit -f 8; trap '' XFSZ; run --out_dir="$full" ) >"$out.17.log" 2>&1 &&
  fail "a full disk went unnoticed"
(( SECONDS - start < 120 )) || fail "a full disk took $((SECONDS - start)) s to stop the run"
grep -q "cannot append to $full/results.jsonl: File too large" "$out.17.log" ||
  { cat "$out.17.log"; fail "no clear message on a full disk"; }
kept=$(grep -c '"status"' "$full/results.jsonl" || true)
[[ $kept -ge 1 ]] || fail "the records written before the disk filled are gone"
run --out_dir="$full" >"$out.18.log" 2>&1 && fail "the diverging cell passed after a resume"
first_line "$out.18.log" | grep -q "^resuming:" || { cat "$out.18.log"; fail "no resume"; }
[[ $(count_in "$full" ok) == 5 && $(count_in "$full" failed) == 1 ]] ||
  fail "cells lost or duplicated after a full disk"
unique_keys() {
  python3 -c 'import json, sys; keys = [json.loads(l)["key"] for l in open(sys.argv[1])]
sys.exit(len(keys) != len(set(keys)))' "$1"
}
unique_keys "$full/results.jsonl" || fail "a cell recorded twice after a full disk"

# 11. A torn or corrupt line in results.jsonl (a crash mid-write, a bad disk block) costs only its
#     cell: an interrupted run resumes, reruns that cell, and ends with each cell exactly once.
torn="$out.torn"
rm -rf "$torn" && cp -r "$full" "$torn"
sed -i 's/"complete": true/"complete": false/' "$torn/manifest.json"
ok_lines=($(grep -n '"status":"ok"' "$torn/results.jsonl" | cut -d: -f1))
sed -i "${ok_lines[0]}s/.*/{\"status\":\"ok\",\"key\":\"not json/" "$torn/results.jsonl"
head -c -200 "$torn/results.jsonl" >"$torn/cut" && mv "$torn/cut" "$torn/results.jsonl"
run --out_dir="$torn" >"$out.19.log" 2>&1
first_line "$out.19.log" | grep -q "^resuming:" || { cat "$out.19.log"; fail "no resume after a torn line"; }
[[ $(count_in "$torn" ok) == 5 && $(count_in "$torn" failed) == 1 ]] ||
  { cat "$torn/results.jsonl" | cut -c1-150; fail "a torn line lost or duplicated a cell"; }
unique_keys "$torn/results.jsonl" || fail "the resumed run kept a corrupt line or a duplicate"
grep -q "results.jsonl:[0-9]*: not valid JSON: dropped; its cell runs again" "$out.19.log" ||
  { cat "$out.19.log"; fail "the corrupt line is not reported by file and line"; }

# 12. A torn last line is cut before the next append: an interrupted resume leaves a file whose
#     every line parses, and its message counts the records a resume will really find.
torn2="$out.torn2"
rm -rf "$torn2" && cp -r "$full" "$torn2"
sed -i 's/"complete": true/"complete": false/' "$torn2/manifest.json"
grep -v '"kind":"sim"' "$torn2/results.jsonl" >"$torn2/keep" && mv "$torn2/keep" "$torn2/results.jsonl"
printf '{"study":"throughput","kind":"sim","status":"ok","key":"torn' >>"$torn2/results.jsonl"
run --out_dir="$torn2" >"$out.20.log" 2>&1 &
resumed=$!
for _ in $(seq 1 100); do grep -q "^running" "$out.20.log" && break; sleep 0.05; done
kill -INT $resumed; wait $resumed
grep -q "its last line was torn (.* bytes without a newline" "$out.20.log" ||
  { cat "$out.20.log"; fail "a torn last line was not reported"; }
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$torn2/results.jsonl" ||
  fail "results.jsonl has a line that does not parse after a torn tail"
said=$(grep -o "interrupted; the [0-9]* finished" "$out.20.log" | grep -o "[0-9]*" || echo finished)
parsed=$(grep -c '"status":"ok"' "$torn2/results.jsonl")
[[ "$said" == "$parsed" || "$said" == finished ]] ||
  fail "the run says $said finished cells, results.jsonl holds $parsed"

# 13. Two runs on one folder: the second stops at once, naming the first; a lock left by a run
#     that died (SIGKILL) is taken over, saying so.
locked="$out.locked"
rm -rf "$locked"
"$runner" --config="$interrupt_config" --out_dir="$locked" >"$out.21.log" 2>&1 &
first=$!
for _ in $(seq 1 100); do [[ -s "$locked/.lock" ]] && break; sleep 0.05; done
start=$SECONDS
"$runner" --config="$config" --out_dir="$locked" >"$out.22.log" 2>&1 && fail "two runs shared a folder"
(( SECONDS - start < 5 )) || fail "the second run took $((SECONDS - start)) s to stop"
grep -q "another run is writing $locked: pid $first on .*--config=$interrupt_config" "$out.22.log" ||
  { cat "$out.22.log"; fail "the second run does not name the first"; }
kill -KILL $first; wait $first 2>/dev/null
pkill -KILL -f -- "--run_cell=$locked/" 2>/dev/null
"$runner" --config="$interrupt_config" --out_dir="$locked" >"$out.23.log" 2>&1 ||
  { cat "$out.23.log"; fail "the run after a dead one failed"; }
grep -q "taking over the lock of $locked from a run that died: pid $first" "$out.23.log" ||
  { cat "$out.23.log"; fail "the stale lock was not named"; }
[[ ! -e "$locked/.lock" ]] || fail "a finished run left its lock"

# 14. A simulation runs in this process, yet obeys the cell time limit and Ctrl-C.
slow_config="$PWD/$(dirname "$2")/slow_simulation_experiment.json"
start=$SECONDS
"$runner" --config="$slow_config" --out_dir="$out.slow" --cell_timeout_seconds=1 >"$out.24.log" 2>&1 &&
  fail "a simulation past its time limit passed"
(( SECONDS - start < 10 )) || fail "the time limit of 1 s stopped the simulation after $((SECONDS - start)) s"
grep -q '"status":"failed"' "$out.slow/results.jsonl" && grep -q "timed out after 1 s (limit 1 s)" "$out.slow/results.jsonl" ||
  { cat "$out.24.log"; fail "the timed-out simulation is not recorded as such"; }
"$runner" --config="$slow_config" --out_dir="$out.slow_int" --fresh >"$out.25.log" 2>&1 &
slow=$!
for _ in $(seq 1 100); do grep -q "^running" "$out.25.log" && break; sleep 0.05; done
sleep 0.5
start=$SECONDS
kill -INT $slow
wait $slow && fail "an interrupted simulation exited 0"
(( SECONDS - start < 3 )) || fail "an interrupt took $((SECONDS - start)) s to stop a simulation"
grep -q "interrupted; the 0 finished cells are in" "$out.25.log" ||
  { cat "$out.25.log"; fail "no clear message on an interrupted simulation"; }

# 15. Bad values and files, each one clear error before any cell.
"$runner" --config="$config" --out_dir="$out.nan" --cell_timeout_seconds=nan >"$out.26.log" 2>&1 &&
  fail "--cell_timeout_seconds=nan accepted"
grep -q "cell_timeout_seconds must be a finite number > 0, got nan" "$out.26.log" || fail "unclear nan error"
"$runner" --config="$repo" >"$out.27.log" 2>&1 && fail "a folder as --config accepted"
grep -q "cannot read experiment config '$repo': '$repo' is a folder" "$out.27.log" ||
  { cat "$out.27.log"; fail "unclear folder-as-config error"; }
printf '{\n  "experiment": "x",\n  "seeds": [0,, 1]\n}\n' >"$out.syntax.json"
"$runner" --config="$out.syntax.json" >"$out.28.log" 2>&1 && fail "invalid JSON accepted"
grep -q "not valid JSON: line 3, column 15" "$out.28.log" || { cat "$out.28.log"; fail "no line and column"; }
sed 's/"data": "synthetic"/"seeds": [0, 0], "data": "synthetic"/' "$config" >"$out.seeds.json"
"$runner" --config="$out.seeds.json" --out_dir="$out.seeds" >"$out.29.log" 2>&1 && fail "a seed twice accepted"
grep -q "seeds\[1\]: 0 is listed twice" "$out.29.log" || { cat "$out.29.log"; fail "unclear duplicate seed"; }
: >"$out.empty.txt"
for data in "$out.empty.txt" "$repo"; do
  sed "s|\"data\": \"synthetic\"|\"data\": \"$data\"|" "$config" >"$out.data2.json"
  "$runner" --config="$out.data2.json" --out_dir="$out.data2" >"$out.30.log" 2>&1 && fail "data $data accepted"
  grep -q "data file '$data' has only 0 bytes" "$out.30.log" || { cat "$out.30.log"; fail "unclear data error for $data"; }
  [[ ! -e $out.data2/results.jsonl ]] || fail "cells ran on unusable data $data"
done
sed 's/"budget_seconds": 1e-12/"budget_seconds": 1e308/' \
  "$PWD/$(dirname "$2")/bad_budget_experiment.json" >"$out.huge_budget.json"
"$runner" --config="$out.huge_budget.json" --out_dir="$out.huge_budget" >"$out.31.log" 2>&1 &&
  fail "a budget of 1e308 s was accepted"
grep -q "budget_seconds: 1e+308 simulated seconds is .* mini-batches of .*; at most 1e+06 are allowed" \
  "$out.huge_budget/results.jsonl" || { cat "$out.31.log"; fail "unclear error for a huge budget"; }

# 16. Records a resume cannot use - a costs record without its costs, a key that is a number - are
#     reported by file and line and their cells rerun, never an abort.
bad="$out.bad_records"
rm -rf "$bad" && cp -r "$out.budget" "$bad"
sed -i 's/"complete": true/"complete": false/' "$bad/manifest.json"
python3 - "$bad/results.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
costs = next(r for r in lines if r["kind"] == "costs")
del costs["result"]["costs"]
sim = next(r for r in lines if r["kind"] == "training")
sim["key"] = 7
with open(sys.argv[1], "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in lines)
PY
"$runner" --config="$PWD/$(dirname "$2")/budget_experiment.json" --out_dir="$bad" >"$out.32.log" 2>&1 ||
  { cat "$out.32.log"; fail "the resume over unusable records failed"; }
grep -q "results.jsonl:[0-9]*: a costs record: record has no costs: dropped; its cell runs again" \
  "$out.32.log" || { cat "$out.32.log"; fail "the costs record without costs is not reported"; }
grep -q "results.jsonl:[0-9]*: its \"key\" is not a string: 7: dropped; its cell runs again" \
  "$out.32.log" || { cat "$out.32.log"; fail "the numeric key is not reported"; }
unique_keys "$bad/results.jsonl" || fail "a cell recorded twice after unusable records"
echo PASS
