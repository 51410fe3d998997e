"""The reproduction check: an experiment's headline ratios against an earlier report's.

Both reports are read from their summary.csv (mean over seeds of every metric). Ratios are
compared within a stated tolerance and called "reproduced" or "differs by X"; absolute times and
rates are shown beside them but never judged, since they depend on the machine.

Tolerances (relative unless marked absolute), and why:
- simulated speedups and memory ratios priced from a cost file (pinned measurements in
  configs/costs/, or an analytic model): exact (tolerance 0; the simulator is deterministic, so
  any difference is a change in code or in the file);
- simulated speedups over 1F1B-flush from costs measured on each machine: 10% (the balance
  between stages moves them by a few percent);
- memory ratios, drift, NAS supernet memory ratio: exact up to 1% (they follow from the model and
  the schedule, not from timing);
- time-to-target speedups and steps-to-target ratios: 15% (interpolated between evaluations);
- training throughput ratios: 10% (simulated, like the speedups above);
- final validation loss: 1%, and its gap to flush: 0.5 points absolute (training is deterministic
  for a seed on one BLAS; another machine's BLAS may round differently);
- retrained NAS loss: 3% (a short retraining of whichever architecture the search derived);
- measured wall-clock ratios (distributed tokens/s over flush, executor overhead): 30% (two
  processes sharing a small machine; they swing that much between runs of one commit).
"""
import collections
import csv
import json
import os

BASELINE = "1f1b_flush"

# kind -> (description, tolerance, relative?)
TOLERANCES = {
    "sim_speedup": ("simulated throughput over 1F1B-flush", 0.10, True),
    "pinned_sim_speedup": ("simulated throughput over 1F1B-flush (cost file)", 0.0, True),
    "memory_ratio": ("peak memory over 1F1B-flush", 0.01, True),
    "pinned_memory_ratio": ("peak memory over 1F1B-flush (cost file)", 0.0, True),
    "max_drift": ("max version drift (updates)", 0.0, False),
    "tta_speedup": ("time-to-target speedup", 0.15, True),
    "throughput_ratio": ("training throughput over flush (simulated)", 0.10, True),
    "steps_ratio": ("steps-to-target ratio", 0.15, True),
    "final_val_loss": ("final validation loss", 0.01, True),
    "loss_gap": ("final loss gap to flush", 0.005, False),
    "nas_memory_ratio": ("supernet memory, entangled over separate", 0.01, True),
    "nas_retrained_loss": ("retrained loss of the derived architecture", 0.03, True),
    "measured_ratio": ("measured tokens/s over 1F1B-flush", 0.30, True),
    "executor_overhead": ("executor overhead (wall / compute)", 0.30, True),
    "time_to_target": ("time to target, s", None, False),
    "measured_rate": ("measured tokens/s", None, False),
}


def read_summary(report_dir):
    with open(os.path.join(report_dir, "summary.csv"), newline="") as f:
        return list(csv.DictReader(f))


def _where(row, with_model):
    parts = [row["study"]]
    if with_model and row.get("model"):
        parts.append(row["model"])
    for field in ("variant", "storage"):
        if row.get(field):
            parts.append(row[field])
    if row.get("stages"):
        parts.append(f"p={row['stages']} m={row['microbatches']}")
    return " ".join(parts)


# (cell kind, summary metric) -> quantity kind
QUANTITIES = {
    ("sim", "speedup_vs_baseline"): "sim_speedup",
    ("sim", "max_drift"): "max_drift",
    ("training", "tta_speedup"): "tta_speedup",
    ("training", "throughput_ratio"): "throughput_ratio",
    ("training", "steps_ratio"): "steps_ratio",
    ("training", "final_val_loss"): "final_val_loss",
    ("training", "final_loss_gap"): "loss_gap",
    ("training", "time_to_target"): "time_to_target",
    ("executor", "overhead_ratio"): "executor_overhead",
    ("distributed", "tokens_per_second"): "measured_rate",
    ("nas", "val_loss_scratch"): "nas_retrained_loss",
}

# Quantities that are 1 (or 0) for the baseline by definition.
RELATIVE_TO_BASELINE = {"sim_speedup", "pinned_sim_speedup", "tta_speedup", "throughput_ratio",
                        "steps_ratio", "loss_gap"}


def from_cost_file(row):
    """Whether a simulated row was priced from a cost file (pinned or analytic), not measured."""
    return row["kind"] == "sim" and row.get("costs", "measured") not in ("", "measured")


def _pinned(kind, row):
    return "pinned_" + kind if from_cost_file(row) else kind


def headline(rows):
    """{quantity name: (kind, value)} of one report's summary rows."""
    out = collections.OrderedDict()
    models = collections.defaultdict(set)
    for row in rows:
        models[row["study"]].add(row.get("model", ""))
    metric = collections.defaultdict(dict)  # (study, kind, model, p, m) -> {variant: {metric: v}}
    priced = {}  # the same -> a row of the group, for how it was priced
    nas = collections.defaultdict(dict)  # (study, optimizer) -> {storage: {metric: v}}
    for row in rows:
        value = float(row["mean"])
        with_model = len(models[row["study"]]) > 1
        group = (row["study"], row["kind"], row.get("model", "") if with_model else "",
                 row["stages"], row["microbatches"])
        metric[group].setdefault(row["variant"], {})[row["metric"]] = value
        priced[group] = row
        if row["kind"] == "nas":
            nas[(row["study"], row["schedule"])].setdefault(row["storage"], {})[row["metric"]] = value
        kind = QUANTITIES.get((row["kind"], row["metric"]))
        if kind == "sim_speedup":
            kind = _pinned(kind, row)
        if kind is None or (kind in RELATIVE_TO_BASELINE and row["variant"] == BASELINE):
            continue
        name = (f"{row['study']} {row['schedule']} {row['storage']}" if row["kind"] == "nas"
                else _where(row, with_model))
        out[f"{TOLERANCES[kind][0]}: {name}"] = (kind, value)
    for (study, kind, model, p, m), variants in metric.items():
        flush = variants.get(BASELINE, {})
        for variant, values in sorted(variants.items()):
            if variant == BASELINE:
                continue
            where = f"{study} {model + ' ' if model else ''}{variant} p={p} m={m}"
            if kind == "sim" and "peak_memory_max_bytes" in values and flush.get(
                    "peak_memory_max_bytes"):
                ratio = _pinned("memory_ratio", priced[(study, kind, model, p, m)])
                out[f"{TOLERANCES[ratio][0]}: {where}"] = (
                    ratio, values["peak_memory_max_bytes"] / flush["peak_memory_max_bytes"])
            if kind == "distributed" and "tokens_per_second" in values and flush.get(
                    "tokens_per_second"):
                out[f"{TOLERANCES['measured_ratio'][0]}: {where}"] = (
                    "measured_ratio", values["tokens_per_second"] / flush["tokens_per_second"])
    for (study, optimizer), storages in sorted(nas.items()):
        entangled = storages.get("entangled", {}).get("supernet_bytes")
        separate = storages.get("separate", {}).get("supernet_bytes")
        if entangled and separate:
            out[f"{TOLERANCES['nas_memory_ratio'][0]}: {study} {optimizer}"] = (
                "nas_memory_ratio", entangled / separate)
    return out


def verdict(kind, value, reference):
    """("reproduced" | "differs by ..." | "not judged", judged?)."""
    _, tolerance, relative = TOLERANCES[kind]
    if tolerance is None:
        return "not judged (absolute)", False
    if relative:
        change = value / reference - 1 if reference else (0.0 if value == 0 else float("inf"))
        text = f"{change:+.1%}" if tolerance > 0 else f"{change:+.2g}x"
    else:
        change = value - reference
        text = f"{change:+.3g}"
    if abs(change) <= tolerance + 1e-12:
        return "reproduced", True
    return f"differs by {text}", True


def compare(rows, reference_rows):
    """Rows {quantity, kind, value, reference, tolerance, verdict, judged}, differences first."""
    ours, theirs = headline(rows), headline(reference_rows)
    out = []
    for name, (kind, value) in ours.items():
        _, tolerance, relative = TOLERANCES[kind]
        stated = ("-" if tolerance is None else
                  f"±{tolerance:.0%}" if relative else f"±{tolerance:g}")
        if name not in theirs:
            out.append(dict(quantity=name, kind=kind, value=value, reference=None,
                            tolerance=stated, verdict="not in the reference", judged=False))
            continue
        text, judged = verdict(kind, value, theirs[name][1])
        out.append(dict(quantity=name, kind=kind, value=value, reference=theirs[name][1],
                        tolerance=stated, verdict=text, judged=judged))
    for name, (kind, value) in theirs.items():
        if name not in ours:
            out.append(dict(quantity=name, kind=kind, value=None, reference=value,
                            tolerance="-", verdict="not in this run", judged=False))
    order = lambda r: (not r["verdict"].startswith("differs"), not r["judged"])  # noqa: E731
    return sorted(out, key=order)


def _number(value):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _table(rows):
    lines = ["| quantity | this run | reference | tolerance | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['quantity']} | {_number(r['value'])} | {_number(r['reference'])} | "
                     f"{r['tolerance']} | {r['verdict']} |")
    return lines


def shown_path(path):
    """`path` relative to the repository (or the working folder) when inside it: reports carry no
    absolute paths of the machine that made them."""
    for root in (os.environ.get("BUILD_WORKSPACE_DIRECTORY"), os.getcwd()):
        if root and os.path.abspath(path).startswith(os.path.abspath(root) + os.sep):
            return os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return os.path.basename(os.path.normpath(path)) if os.path.isabs(path) else path


def markdown(comparison, reference_dir, reference_manifest):
    judged = [r for r in comparison if r["judged"]]
    reproduced = [r for r in judged if r["verdict"] == "reproduced"]
    differing = [r for r in judged if r["verdict"] != "reproduced"]
    one_side = [r for r in comparison if r["verdict"].startswith("not in")]
    m = reference_manifest
    lines = [
        "## Reproduction check\n",
        f"Against `{shown_path(reference_dir)}`: commit `{m.get('git_commit', 'unknown')[:12]}`, "
        f"{m.get('created_utc', '?')}, {m.get('cpu_count', '?')} x {m.get('cpu_model', '?')}. "
        f"**{len(reproduced)} of {len(judged)} judged ratios reproduced** within their "
        "tolerances (stated per row; the reasons for each are in "
        "benchmarks/report/reproduction.py). Absolute times and rates are shown, never judged.\n",
    ]
    if one_side or not judged:
        lines.append(
            f"**{len(one_side)} quantities are on one side only** (listed below as \"not in the "
            "reference\" or \"not in this run\"): the reference was made from another config, "
            "so those are not checked at all.\n")
    if differing or one_side:
        lines += ["Differences and quantities on one side only:\n"]
        lines += _table(differing + one_side) + [""]
    lines += [f"<details><summary>All {len(comparison)} quantities</summary>\n"]
    lines += _table(comparison)
    lines += ["\n</details>\n"]
    return lines


def check(out_dir, rows, reference_dir):
    """Compares `rows` (this report's summary) with reference_dir's; writes reproduction.json."""
    with open(os.path.join(reference_dir, "manifest.json")) as f:
        reference_manifest = json.load(f)
    comparison = compare(rows, read_summary(reference_dir))
    with open(os.path.join(out_dir, "reproduction.json"), "w") as f:
        json.dump({"reference": shown_path(reference_dir),
                   "reference_commit": reference_manifest.get("git_commit"),
                   "quantities": comparison}, f, indent=1)
    return markdown(comparison, reference_dir, reference_manifest)
