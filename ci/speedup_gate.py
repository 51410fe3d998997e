#!/usr/bin/python3
"""CI regression gate: same-run speedup ratios of an experiment report against thresholds.

Usage: speedup_gate.py REPORT_DIR THRESHOLDS_JSON

Each check picks summary.csv rows of REPORT_DIR by study, kind, metric and parameters, and takes
numerator / denominator (or the numerator alone when it is itself a ratio measured within the run,
such as a time-to-accuracy speedup or the executor's overhead). Only ratios of one run are compared,
never absolute times across runs. Prints one table; exits 1 when a check fails or its rows are
missing.
"""
import csv
import json
import math
import os
import sys


def select(rows, check, side):
    spec = check[side]
    matches = [r for r in rows
               if r["study"] == check["study"] and r["kind"] == check["kind"]
               and r["metric"] == check["metric"]
               and all(str(r.get(k, "")) == str(v) for k, v in spec.items())]
    if len(matches) != 1:
        return None, f"{side} {json.dumps(spec)} matched {len(matches)} rows"
    try:
        value = float(matches[0]["mean"])
    except ValueError:
        return None, f"{side} {json.dumps(spec)} has no number: {matches[0]['mean']!r}"
    if not math.isfinite(value):
        return None, f"{side} {json.dumps(spec)} is {value}"
    return value, None


def evaluate(rows, check):
    """(value, "ok" | "FAIL" | "MISSING", problem) for one check over summary.csv's rows."""
    value, problem = select(rows, check, "numerator")
    if problem is None and "denominator" in check:
        denominator, problem = select(rows, check, "denominator")
        if problem is None and denominator == 0:
            # A ratio over nothing passes every minimum as infinity: it is a missing measurement.
            problem = f"denominator {json.dumps(check['denominator'])} is 0"
        elif problem is None:
            value = value / denominator
    if problem is not None:
        return None, "MISSING", problem
    low, high = check.get("min"), check.get("max")
    ok = (low is None or value >= low) and (high is None or value <= high)
    return value, "ok" if ok else "FAIL", ""


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(os.path.join(argv[1], "summary.csv")) as f:
        rows = list(csv.DictReader(f))
    with open(argv[2]) as f:
        checks = json.load(f)["checks"]
    lines = []
    failed = 0
    for check in checks:
        value, status, problem = evaluate(rows, check)
        bound = " and ".join(
            part for part in (f">= {check['min']}" if "min" in check else "",
                              f"<= {check['max']}" if "max" in check else "") if part)
        shown = "-" if value is None else f"{value:.3f}"
        lines.append((check["name"], shown, bound, status + (f" ({problem})" if problem else "")))
        failed += status != "ok"
    widths = [max(len(line[i]) for line in lines + [("check", "measured", "threshold", "status")])
              for i in range(4)]
    header = ("check", "measured", "threshold", "status")
    print("speedup gate: " + argv[1])
    for line in [header, tuple("-" * w for w in widths)] + lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    if failed:
        print(f"speedup gate: FAILED, {failed} of {len(checks)} checks regressed or are missing")
        return 1
    print(f"speedup gate: passed, {len(checks)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
