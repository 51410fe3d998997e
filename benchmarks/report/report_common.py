"""What every report section shares: the record accessors, mean and spread, formatting, and
the time-to-target arithmetic (make_report.py's sections and tests import it)."""
import collections  # noqa: F401  (re-exported for the section modules)
import json  # noqa: F401
import math
import os
import statistics
import sys
import tempfile

# Matplotlib wants a writable config folder; a sandboxed test or CI home may have none.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="pipebench-mpl-"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401

BASELINE = "1f1b_flush"
# The run summary schema (engine/runtime/run_summary.h) this script reads.
SUMMARY_SCHEMA_VERSION = 1
PIPELINE_KINDS = ("sim", "executor", "training", "distributed")
# Cells whose records hold a run summary.
SUMMARY_KINDS = PIPELINE_KINDS + ("nas_pipeline",)


def costs_source(kind, params):
    """What a simulated cell was priced with: its cost file, "inline" or "measured" ("" for
    cells that are not simulations)."""
    if kind != "sim":
        return ""
    return params.get("costs_file") or ("inline" if "costs" in params else "measured")


def repository_file(path):
    """A file the repository holds (a cost file a config names), or None where this run cannot
    see the repository."""
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.environ.get("BUILD_WORKSPACE_DIRECTORY"), os.getcwd(),
                 os.path.join(here, "..", "..")):
        if root and os.path.isfile(os.path.join(root, path)):
            return os.path.join(root, path)
    return None


def summary(record):
    """A pipeline cell's run summary: the one schema simulate, train, launch and the harness
    write."""
    return record["result"]["summary"]


def simulated_rate(record):
    """Simulated throughput: tokens/s when the run knows its tokens, else micro-batches/s."""
    clock = summary(record)["simulated"]
    return clock.get("tokens_per_second", clock["microbatches_per_second"])


def measured_rate(record):
    """Measured (wall-clock) tokens/s."""
    return summary(record)["measured"]["tokens_per_second"]


def check_schema(records):
    """Refuses records whose run summaries another schema wrote, naming what to do."""
    for r in records:
        if r.get("status") != "ok" or r.get("kind") not in SUMMARY_KINDS:
            continue
        version = r["result"].get("summary", {}).get("schema_version")
        if version != SUMMARY_SCHEMA_VERSION:
            label = r["params"].get("variant", r["params"].get("schedule"))
            sys.exit(f"make_report: the {r['kind']} record of {label} has "
                     f"run summary schema {version}, this script reads "
                     f"{SUMMARY_SCHEMA_VERSION}: rerun the experiment (--fresh) to regenerate "
                     "its records")


def mean_std(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None, None, 0
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std, len(values)


def fmt(values, digits=3, scale=1.0, suffix=""):
    mean, std, n = mean_std(values)
    if n == 0:
        return "-"
    if n == 1:
        return f"{mean * scale:.{digits}f}{suffix}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}{suffix}"


def benchmark_entry(name, seconds, items_per_second, **counters):
    """One run in Google Benchmark's JSON format."""
    return dict({"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
                 "repetition_index": 0, "threads": 1, "iterations": 1, "real_time": seconds,
                 "cpu_time": seconds, "time_unit": "s", "items_per_second": items_per_second},
                **counters)


def model_field(model, field):
    """An integer field of a model string: model_field("layers=8,embed=64", "embed") == 64."""
    for part in model.split(","):
        key, _, value = part.partition("=")
        if key.strip() == field:
            return int(value)
    return None


def group_key(params):
    return (params["stages"], params["microbatches"])


def time_to_target(curve, target, key="sim_time"):
    """When (by `key`: sim_time or step) the validation loss first reaches `target`,
    interpolated between evaluations; None if it never does (or there is no target)."""
    if target is None:
        return None
    previous = None
    for point in curve:
        if "val_loss" not in point:
            continue
        if point["val_loss"] <= target:
            if previous is None or previous["val_loss"] == point["val_loss"]:
                return point[key]
            frac = (previous["val_loss"] - target) / (previous["val_loss"] - point["val_loss"])
            return previous[key] + frac * (point[key] - previous[key])
        previous = point
    return None


def loss_at(curve, time):
    """The validation loss at simulated `time`, interpolated between evaluations."""
    points = [(c["sim_time"], c["val_loss"]) for c in curve if "val_loss" in c]
    for (t0, l0), (t1, l1) in zip(points, points[1:]):
        if t0 <= time <= t1:
            return l0 + (l1 - l0) * (time - t0) / (t1 - t0) if t1 > t0 else l1
    return points[-1][1] if points and time >= points[-1][0] else None


def horizon_text(records):
    """The shared cosine horizon of a budget study's records, e.g. "300 mini-batches"."""
    horizons = sorted({r["result"]["horizon_batches"] for r in records
                       if "horizon_batches" in r["result"]})
    if not horizons:
        return "each run's own mini-batches"
    return " / ".join(str(h) for h in horizons) + " mini-batches"


def describe_target(spec):
    if spec == "paper":
        return (f"the paper's, pair by pair: the lowest validation loss that both this schedule's "
                f"run and {BASELINE}'s reach (the larger of their best losses; a group-wide target "
                "would be set by its weakest run)")
    if isinstance(spec, dict):
        return (f"{BASELINE}'s validation loss at {spec['flush_fraction']:.0%} of its run's "
                "simulated time")
    return f"validation loss {spec}"


def baseline_variant(runs_by_variant):
    """1F1B-flush when present, else the first synchronous schedule (by name)."""
    if BASELINE in runs_by_variant:
        return BASELINE
    sync = sorted(v for v, runs in runs_by_variant.items()
                  if summary(next(iter(runs.values())))["synchronous"])
    return sync[0] if sync else None


def training_target(spec, curves, baseline, variant):
    """The target loss of `variant` against `baseline` in one seed's runs ({variant: curve});
    None when undefined. The paper's target is pairwise: the lowest loss both runs reach."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return float(spec)
    if isinstance(spec, dict):
        curve = curves.get(baseline)
        if not curve:
            return None
        end = max(c["sim_time"] for c in curve)
        return loss_at(curve, spec["flush_fraction"] * end)
    pair = [curves.get(baseline), curves.get(variant)]
    if any(curve is None for curve in pair):
        return None
    best = [min((c["val_loss"] for c in curve if "val_loss" in c), default=None) for curve in pair]
    if any(b is None for b in best):
        return None
    return max(best)
