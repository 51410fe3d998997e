#!/usr/bin/python3
"""Turns an experiment's records into its report.

Usage: make_report.py REPORT_DIR [--compare_to=REFERENCE_DIR]

Reads REPORT_DIR/results.jsonl and manifest.json (written by //benchmarks:run_experiment) and
writes summary.csv (mean, std and count over seeds of every metric), benchmark.json (Google
Benchmark's JSON format, throughput as items_per_second), report.md and plots/*.png. With
--compare_to, report.md opens with the reproduction check against that earlier report
(reproduction.py) and reproduction.json holds it.

Time-to-accuracy: the target is, per seed, the study's "target": by default the paper's, taken pair
by pair as the paper compares PACI with 1F1B-flush (the lowest validation loss both a schedule's
run and the baseline's reach), else a value or 1F1B-flush's loss at a fraction of its run, shared
by the (p, m) group. A run's time and steps to target are interpolated between evaluations;
its ratios to 1F1B-flush (throughput, steps to target, time to target) are taken seed by seed.
"""
import collections
import csv
import json
import math
import os
import statistics
import sys
import tempfile

# Matplotlib wants a writable config folder; a sandboxed test or CI home may have none.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="pipebench-mpl-"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reproduction  # noqa: E402

BASELINE = "1f1b_flush"
# The run summary schema (engine/runtime/run_summary.h) this script reads.
SUMMARY_SCHEMA_VERSION = 1
PIPELINE_KINDS = ("sim", "executor", "training", "distributed")
# Cells whose records hold a run summary.
SUMMARY_KINDS = PIPELINE_KINDS + ("nas_pipeline",)


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


class Report:
    def __init__(self, out_dir, compare_to=None):
        self.out_dir = out_dir
        self.compare_to = compare_to
        self.plots_dir = os.path.join(out_dir, "plots")
        os.makedirs(self.plots_dir, exist_ok=True)
        with open(os.path.join(out_dir, "manifest.json")) as f:
            self.manifest = json.load(f)
        with open(os.path.join(out_dir, "results.jsonl")) as f:
            self.records = [json.loads(line) for line in f if line.strip()]
        check_schema(self.records)
        self.config = self.manifest.get("config", {})
        self.studies = {s["name"]: s for s in self.config.get("studies", [])}
        self.rows = []  # summary.csv
        self.benchmarks = []  # benchmark.json
        self.md = []
        self.training_summary = []  # per (study, p, m, schedule): for the cross-study overview
        self.model = None  # with several models in a study, the one being reported
        self.plot_tag = ""

    def ok(self, study, kind):
        return [r for r in self.records
                if r["study"] == study and r["kind"] == kind and r["status"] == "ok"
                and (self.model is None or r["params"].get("model") == self.model)]

    def per_model(self, name, kinds, section):
        """Runs `section(name)` once per model of the study, under headings when there are more."""
        models = sorted({r["params"].get("model", "") for kind in kinds
                         for r in self.ok(name, kind)})
        for index, model in enumerate(models):
            if len(models) > 1:
                self.md.append(f"### Model `{model}`\n")
                self.model, self.plot_tag = model, f"_model{index}"
            section(name)
        self.model, self.plot_tag = None, ""

    def add_row(self, study, kind, params, metric, values):
        mean, std, n = mean_std(values)
        if n == 0:
            return
        self.rows.append({
            "study": study, "kind": kind, "model": params.get("model", ""),
            "variant": params.get("variant", ""),
            "schedule": params.get("schedule", params.get("optimizer", "")),
            "stages": params.get("stages", ""), "microbatches": params.get("microbatches", ""),
            "accumulation": params.get("accumulation", ""), "chunks": params.get("chunks", ""),
            "storage": params.get("storage", ""), "metric": metric,
            "mean": f"{mean:.6g}", "std": f"{std:.6g}", "n": n})

    def plot(self, fig, name):
        name = name.replace(".png", f"{self.plot_tag}.png")
        path = os.path.join(self.plots_dir, name)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        self.md.append(f"\n![{name}](plots/{name})\n")

    # ---- pipeline studies -------------------------------------------------------------------
    def pipeline(self, name):
        self.per_model(name, ("sim", "executor", "distributed"), self.pipeline_of_model)

    def pipeline_of_model(self, name):
        sims = self.ok(name, "sim")
        if sims:
            self.throughput_section(name, sims)
            self.memory_section(name, sims)
            self.drift_section(name, sims)
        executors = self.ok(name, "executor")
        if executors:
            self.executor_section(name, executors)
        distributed = self.ok(name, "distributed")
        if distributed:
            self.distributed_section(name, distributed, sims)

    def throughput_section(self, name, sims):
        by_variant = collections.defaultdict(dict)
        for r in sims:
            by_variant[r["params"]["variant"]][group_key(r["params"])] = r
        groups = sorted({group_key(r["params"]) for r in sims})
        # The reference: 1F1B-flush, against which (m+p-1)/m is the ideal; else the fastest
        # synchronous schedule.
        baseline = {}
        for g in groups:
            in_group = [r for r in sims if group_key(r["params"]) == g]
            flush = [summary(r)["simulated"]["microbatches_per_second"] for r in in_group
                     if r["params"]["variant"] == BASELINE]
            sync = [summary(r)["simulated"]["microbatches_per_second"] for r in in_group
                    if summary(r)["synchronous"]]
            baseline[g] = flush[0] if flush else (max(sync) if sync else None)
        reference = BASELINE if BASELINE in by_variant else "the fastest synchronous schedule"
        unit = ("tokens/s" if "tokens_per_second" in summary(sims[0])["simulated"]
                else "micro-batches/time unit")
        self.md.append(f"### Throughput (simulated, {unit})\n")
        self.md.append(f"Each cell: throughput, and in brackets the speedup over {reference} at "
                       "the same (p, m). The last row is the ideal bubble-removal ratio "
                       "(m+p-1)/m.\n")
        self.md.append("| schedule | " + " | ".join(f"p={p} m={m}" for p, m in groups) + " |")
        self.md.append("|---" * (len(groups) + 1) + "|")
        for variant in sorted(by_variant):
            cells = []
            for g in groups:
                r = by_variant[variant].get(g)
                if r is None:
                    cells.append("-")
                    continue
                clock = summary(r)["simulated"]
                value = simulated_rate(r)
                speedup = (clock["microbatches_per_second"] / baseline[g]
                           if baseline[g] else None)
                cells.append(f"{value:,.0f} ({speedup:.2f}x)" if speedup else f"{value:,.0f}")
                self.add_row(name, "sim", r["params"], "throughput", [value])
                self.add_row(name, "sim", r["params"], "bubble_fraction",
                             [clock["bubble_fraction"]])
                if speedup:
                    self.add_row(name, "sim", r["params"], "speedup_vs_baseline", [speedup])
                self.benchmarks.append(benchmark_entry(
                    f"{name}/{variant}/p:{g[0]}/m:{g[1]}/sim", clock["seconds"], value,
                    bubble_fraction=clock["bubble_fraction"]))
            self.md.append(f"| {variant} | " + " | ".join(cells) + " |")
        self.md.append("| *ideal (m+p-1)/m* | " +
                       " | ".join(f"{(m + p - 1) / m:.2f}x" for p, m in groups) + " |\n")
        for p in sorted({g[0] for g in groups}):
            fig, ax = plt.subplots(figsize=(6.4, 4))
            for variant in sorted(by_variant):
                points = sorted((g[1], simulated_rate(r))
                                for g, r in by_variant[variant].items() if g[0] == p)
                if points:
                    ax.plot(*zip(*points), marker="o", label=variant)
            ax.set_xlabel("micro-batches per mini-batch m")
            ax.set_ylabel(f"throughput ({unit})")
            ax.set_title(f"{name}: simulated throughput, p = {p}")
            ax.legend(fontsize=7, ncol=2)
            self.plot(fig, f"{name}_throughput_p{p}.png")

    def memory_section(self, name, sims):
        p_max = max(r["params"]["stages"] for r in sims)
        at_p = [r for r in sims if r["params"]["stages"] == p_max]
        m_max = max(r["params"]["microbatches"] for r in at_p)
        rows = sorted((r for r in at_p if r["params"]["microbatches"] == m_max),
                      key=lambda r: r["params"]["variant"])
        self.md.append(f"### Peak memory per stage (model, MiB; p={p_max}, m={m_max})\n")
        self.md.append("Parameters + optimizer state + live activations + stashed weight "
                       "versions, from the simulated timeline.\n")
        stages = max(len(summary(r)["ranks"]) for r in rows)
        self.md.append("| schedule | " + " | ".join(f"stage {s}" for s in range(stages)) +
                       " | max |")
        self.md.append("|---" * (stages + 2) + "|")
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for r in rows:
            per = [s["simulated"]["peak_memory_bytes"] / 2**20 for s in summary(r)["ranks"]]
            self.md.append(f"| {r['params']['variant']} | " +
                           " | ".join(f"{v:.1f}" for v in per) + f" | {max(per):.1f} |")
            ax.plot(range(len(per)), per, marker="o", label=r["params"]["variant"])
        for r in sims:
            self.add_row(name, "sim", r["params"], "peak_memory_max_bytes",
                         [max(s["simulated"]["peak_memory_bytes"] for s in summary(r)["ranks"])])
        self.md.append("")
        ax.set_xlabel("stage")
        ax.set_ylabel("peak memory (MiB)")
        ax.set_title(f"{name}: peak memory per stage, p = {p_max}, m = {m_max}")
        ax.legend(fontsize=7, ncol=2)
        self.plot(fig, f"{name}_memory_per_stage.png")

    def drift_section(self, name, sims):
        p_max = max(r["params"]["stages"] for r in sims)
        rows = [r for r in sims
                if r["params"]["stages"] == p_max and not summary(r)["synchronous"]]
        if not rows:
            return
        m_max = max(r["params"]["microbatches"] for r in rows)
        rows = sorted((r for r in rows if r["params"]["microbatches"] == m_max),
                      key=lambda r: r["params"]["variant"])
        stages = max(len(summary(r)["model_stages"]) for r in rows)
        self.md.append(f"### Version drift (updates crossed, max / bound per model stage; "
                       f"p={p_max}, m={m_max})\n")
        self.md.append("| schedule | " + " | ".join(f"stage {s}" for s in range(stages)) + " |")
        self.md.append("|---" * (stages + 1) + "|")
        fig, axes = plt.subplots(1, len(rows), figsize=(2.6 * len(rows), 3), squeeze=False)
        for ax, r in zip(axes[0], rows):
            per = summary(r)["model_stages"]
            self.md.append(f"| {r['params']['variant']} | " + " | ".join(
                f"{s['max_drift']}/{s['drift_bound'] if s['drift_bound'] >= 0 else '-'}"
                for s in per) + " |")
            total = collections.Counter()
            for s in per:
                for k, count in enumerate(s["drift_histogram"]):
                    total[k] += count
            ax.bar(list(total.keys()), list(total.values()))
            ax.set_title(r["params"]["variant"], fontsize=8)
            ax.set_xlabel("updates crossed")
            self.add_row(name, "sim", r["params"], "max_drift", [summary(r)["max_drift"]])
        axes[0][0].set_ylabel("backward passes")
        self.md.append("")
        self.plot(fig, f"{name}_drift_histograms.png")

    def executor_section(self, name, records):
        self.md.append("### Single-process executor (measured wall-clock)\n")
        self.md.append("Wall / costed compute = the run's wall-clock over the compute its actions "
                       "cost in the measured cost model (per-action medians, measured in another "
                       "process before the run); the wall-clock is the replay's (simulating the "
                       "schedule, building the stages, validation and output excluded), so a ratio "
                       "below 1 means the medians overstate the run's compute. It covers a short "
                       "run from its first batch, so it is not the executor's steady-state overhead: "
                       "`//engine/exec:executor_benchmark` measures that, against the same stage "
                       "functions run back to back in one process.\n")
        self.md.append("| schedule | p | m | tokens/s | wall / costed compute |")
        self.md.append("|---|---|---|---|---|")
        for key, group in self.by_params(records):
            p = group[0]["params"]
            self.md.append(f"| {p['variant']} | {p['stages']} | {p['microbatches']} | "
                           f"{fmt([measured_rate(r) for r in group], 0)} | "
                           f"{fmt([r['result']['overhead_ratio'] for r in group], 3)} |")
            self.add_row(name, "executor", p, "tokens_per_second",
                         [measured_rate(r) for r in group])
            self.add_row(name, "executor", p, "overhead_ratio",
                         [r["result"]["overhead_ratio"] for r in group])
        self.md.append("")

    def distributed_section(self, name, records, sims):
        predicted = {(r["params"]["variant"],) + group_key(r["params"]):
                     summary(r)["simulated"].get("tokens_per_second") for r in sims}
        self.md.append("### Distributed runs (measured wall-clock, one process per stage)\n")
        self.md.append("| schedule | p | m | tokens/s | simulated tokens/s | bubble | "
                       "peak RSS per rank (MiB) | max drift / bound |")
        self.md.append("|---|---|---|---|---|---|---|---|")
        for key, group in self.by_params(records):
            p = group[0]["params"]
            res = summary(group[0])
            sim = predicted.get((p["variant"],) + group_key(p))
            rss = " / ".join(f"{s['measured']['peak_rss_bytes'] / 2**20:.0f}" for s in res["ranks"])
            drift = " ".join(f"{s['max_drift']}/{s['drift_bound']}" for s in res["model_stages"])
            self.md.append(
                f"| {p['variant']} | {p['stages']} | {p['microbatches']} | "
                f"{fmt([measured_rate(r) for r in group], 0)} | "
                f"{f'{sim:,.0f}' if sim else '-'} | "
                f"{fmt([summary(r)['measured']['bubble_fraction'] for r in group], 3)} | "
                f"{rss} | {drift} |")
            self.add_row(name, "distributed", p, "tokens_per_second",
                         [measured_rate(r) for r in group])
            # Median over (seed, repeat) of this run's tokens/s over 1F1B-flush's run of the same
            # seed and repeat, which ran next to it: what the gate checks, less exposed to a busy
            # machine than a ratio of means.
            if p["variant"] != BASELINE:
                flush = {(r["params"].get("seed"), r["params"].get("repeat")): measured_rate(r)
                         for r in records if r["params"]["variant"] == BASELINE
                         and group_key(r["params"]) == group_key(p)}
                paired = [measured_rate(r) / flush[(r["params"].get("seed"),
                                                    r["params"].get("repeat"))]
                          for r in group if (r["params"].get("seed"),
                                             r["params"].get("repeat")) in flush]
                if paired:
                    self.add_row(name, "distributed", p, "tokens_per_second_ratio_median",
                                 [statistics.median(paired)])
            # How far the measured drift goes past the schedule's bound (<= 0: kept), worst stage
            # of those with a bound (a custom schedule may promise none: -1).
            over = [max(excess) for excess in
                    ([s["max_drift"] - s["drift_bound"] for s in summary(r)["model_stages"]
                      if s["drift_bound"] >= 0] for r in group) if excess]
            self.add_row(name, "distributed", p, "drift_over_bound", over)
            self.benchmarks.append(benchmark_entry(
                f"{name}/{p['variant']}/p:{p['stages']}/m:{p['microbatches']}/distributed",
                res["measured"]["seconds"], res["measured"]["tokens_per_second"]))
        self.md.append("")

    @staticmethod
    def by_params(records):
        groups = collections.OrderedDict()
        for r in records:
            p = dict(r["params"])
            p.pop("seed", None)
            p.pop("repeat", None)  # repeated distributed runs: one group, every repeat a sample
            groups.setdefault(json.dumps(p, sort_keys=True), []).append(r)
        return sorted(groups.items(), key=lambda kv: (kv[1][0]["params"]["stages"],
                                                      kv[1][0]["params"]["microbatches"],
                                                      kv[1][0]["params"]["variant"]))

    # ---- training studies -------------------------------------------------------------------
    def training(self, name):
        self.per_model(name, ("training",), self.training_of_model)

    def training_of_model(self, name):
        records = self.ok(name, "training")
        if not records:
            return
        study = self.studies.get(name, {})
        target_spec = study.get("target", "paper")
        budget = study.get("budget_seconds")
        self.md.append("### Time to accuracy\n")
        self.md.append(
            "Clock: **simulated** from per-stage costs measured on this machine (the executor "
            "replays each schedule's timeline, so the losses are real and the clock is what p "
            "stages on p workers would take). " +
            (f"Budget: every schedule trains for {budget:g} simulated seconds. " if budget else
             "Budget: every schedule trains for as long as 1F1B-flush takes for "
             f"{study['budget_flush_steps']} mini-batches on the simulated clock. "
             if study.get("budget_flush_steps") else
             f"Budget: every schedule trains the same {study.get('steps')} mini-batches. ") +
            ("Learning rate: one warmup + cosine schedule for every schedule of a group, over "
             f"{horizon_text(records)} (1F1B-flush's in the budget); a schedule that fits more "
             "steps finishes at the floor rate. " if budget or study.get("budget_flush_steps")
             else "") +
            f"Target: {describe_target(target_spec)}, per seed. Evaluation: the same "
            f"{study.get('eval_tokens', 8192):,} validation tokens for every run; synchronous "
            "schedules are evaluated between mini-batches (every stage has applied the batch's "
            "update), asynchronous ones on their weights as they are when a mini-batch finishes. "
            f"Ratios are against {BASELINE} (else the first synchronous schedule), seed by seed: "
            "throughput ratio (tokens per simulated second), steps-to-target ratio (its "
            "mini-batches to the target over this schedule's), and time-to-target speedup (their "
            "product, up to interpolation). Ideal throughput ratio: (m+p-1)/m.\n")
        self.md.append("| p | m | schedule | final val loss | throughput ratio | steps to target | "
                       "steps ratio | time to target (s) | speedup | ideal | max drift / bound |")
        self.md.append("|---|---|---|---|---|---|---|---|---|---|---|")
        by_group = collections.defaultdict(lambda: collections.defaultdict(dict))
        for r in records:
            by_group[group_key(r["params"])][r["params"]["variant"]][r["params"]["seed"]] = r
        for g in sorted(by_group):
            variants = by_group[g]
            baseline = baseline_variant(variants)
            seeds = sorted({s for runs in variants.values() for s in runs})
            target = {}  # (seed, variant) -> loss
            for seed in seeds:
                curves = {v: runs[seed]["result"]["curve"] for v, runs in variants.items()
                          if seed in runs}
                for variant in curves:
                    target[seed, variant] = training_target(target_spec, curves, baseline,
                                                            variant)
            p, m = g
            base = variants.get(baseline, {})
            for variant in sorted(variants):
                runs = variants[variant]
                finals, gaps, throughput, steps, step_ratio, times, speedups = ([] for _ in range(7))
                missed = 0
                for seed, r in sorted(runs.items()):
                    res = r["result"]
                    run = summary(r)
                    finals.append(run["final_val_loss"])
                    b = base.get(seed, {}).get("result")
                    base_run = b["summary"] if b else None
                    if b:
                        gaps.append(run["final_val_loss"] / base_run["final_val_loss"] - 1)
                    if b and base_run["simulated"]["seconds"] > 0 and run["simulated"]["seconds"] > 0:
                        throughput.append(run["simulated"]["tokens_per_second"] /
                                          base_run["simulated"]["tokens_per_second"])
                    goal = target.get((seed, variant))
                    t = time_to_target(res["curve"], goal)
                    n = time_to_target(res["curve"], goal, key="step")
                    if t is None:
                        missed += 1
                        continue
                    times.append(t)
                    steps.append(n)
                    bt = time_to_target(b["curve"], goal) if b else None
                    bn = time_to_target(b["curve"], goal, key="step") if b else None
                    if bt is not None:
                        speedups.append(bt / t)
                        step_ratio.append(bn / n)
                not_reached = f"not reached ({missed} of {len(runs)})" if missed else None
                first = summary(next(iter(runs.values())))
                drift = " ".join(f"{s['max_drift']}/{s['drift_bound']}"
                                 for s in first["model_stages"])
                self.md.append(
                    f"| {p} | {m} | {variant} | {fmt(finals, 3)} | {fmt(throughput, 2, 1, 'x')} | "
                    f"{not_reached or fmt(steps, 1)} | {fmt(step_ratio, 2, 1, 'x')} | "
                    f"{not_reached or fmt(times, 2)} | {fmt(speedups, 2, 1, 'x')} | "
                    f"{(m + p - 1) / m:.2f}x | {drift} |")
                params = next(iter(runs.values()))["params"]
                self.training_summary.append(dict(
                    study=name, p=p, m=m, variant=variant, lr=params.get("lr"),
                    steps=params.get("steps"), micro_batch_size=params["micro_batch_size"],
                    tokens_per_step=m * params["micro_batch_size"] * int(
                        params["model"].split("context=")[1].split(",")[0]),
                    gaps=gaps, throughput=throughput, step_ratio=step_ratio, speedups=speedups))
                self.add_row(name, "training", params, "final_val_loss", finals)
                self.add_row(name, "training", params, "final_loss_gap", gaps)
                self.add_row(name, "training", params, "throughput_ratio", throughput)
                self.add_row(name, "training", params, "steps_to_target", steps)
                self.add_row(name, "training", params, "steps_ratio", step_ratio)
                self.add_row(name, "training", params, "time_to_target", times)
                self.add_row(name, "training", params, "tta_speedup", speedups)
            fig, ax = plt.subplots(figsize=(6.4, 4))
            for variant in sorted(variants):
                for i, (seed, r) in enumerate(sorted(variants[variant].items())):
                    points = [(c["sim_time"], c["val_loss"]) for c in r["result"]["curve"]
                              if "val_loss" in c]
                    if points:
                        line, = ax.plot(*zip(*points), label=variant if i == 0 else None,
                                        color=None if i == 0 else line.get_color(), alpha=0.9)
            reached_targets = [t for t in target.values() if t is not None]
            if reached_targets:
                ax.axhline(statistics.fmean(reached_targets), color="gray", ls="--", lw=0.8,
                           label="target")
            ax.set_xlabel("simulated time from measured costs (s)")
            ax.set_ylabel("validation loss")
            ax.set_title(f"{name}: loss vs time, p = {p}, m = {m}")
            ax.legend(fontsize=7)
            self.plot(fig, f"{name}_loss_vs_time_p{p}_m{m}.png")
        self.md.append("")

    def training_overview(self):
        """Training studies side by side: the equal-step loss gap to the baseline and the
        time-to-target speedup against the factors the studies vary (a staleness study)."""
        rows = [r for r in self.training_summary if r["variant"] != BASELINE]
        if len({r["study"] for r in rows}) < 2:
            return
        self.md.append("## Training studies side by side\n")
        self.md.append(
            f"Final-loss gap: this schedule's final validation loss over {BASELINE}'s, minus one, "
            "seed by seed (at equal steps, the equal-step gap). Speedup / throughput: how much "
            "of the throughput ratio survives as time-to-target speedup.\n")
        self.md.append("| study | p | m | lr | tokens/step | steps | schedule | final-loss gap | "
                       "throughput ratio | steps ratio | time-to-target speedup | "
                       "speedup / throughput |")
        self.md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            kept = [s / t for s, t in zip(r["speedups"], r["throughput"])] \
                if len(r["speedups"]) == len(r["throughput"]) else []
            r["kept"] = kept
            self.md.append(
                f"| {r['study']} | {r['p']} | {r['m']} | {r['lr']:g} | {r['tokens_per_step']:,} | "
                f"{r['steps'] if r['steps'] else '-'} | {r['variant']} | "
                f"{fmt(r['gaps'], 1, 100, '%')} | {fmt(r['throughput'], 2, 1, 'x')} | "
                f"{fmt(r['step_ratio'], 2, 1, 'x')} | {fmt(r['speedups'], 2, 1, 'x')} | "
                f"{fmt(kept, 0, 100, '%')} |")
        self.md.append("")
        paci = [r for r in rows if r["variant"] == "paci" and r["kept"]]
        if paci:
            holds = [r for r in paci if statistics.fmean(r["kept"]) >= 0.9]
            fails = [r for r in paci if statistics.fmean(r["kept"]) < 0.9]
            describe = lambda rs: ", ".join(  # noqa: E731
                f"{r['study']} (p={r['p']}, m={r['m']}, lr {r['lr']:g}, {r['tokens_per_step']:,} "
                f"tokens/step, {r['steps']} steps: {statistics.fmean(r['kept']):.0%})" for r in rs)
            self.md.append("PACI's time-to-target speedup reaches at least 90% of its throughput "
                           "ratio in " + (describe(holds) if holds else "none of these studies") +
                           "; it does not in " + (describe(fails) if fails else "none") + ".\n")
        # One plot per factor, over the studies that differ from the most common setting in that
        # factor alone.
        factors = [("lr", "peak learning rate", True), ("tokens_per_step", "tokens per step", True),
                   ("steps", "run length (steps)", True)]
        for factor, label, log_x in factors:
            others = [f for f, _, _ in factors if f != factor]
            base = collections.Counter(tuple(r[f] for f in others) for r in rows).most_common(1)
            if not base:
                continue
            chosen = [r for r in rows if tuple(r[f] for f in others) == base[0][0]]
            if len({r[factor] for r in chosen}) < 2:
                continue
            fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
            for variant in sorted({r["variant"] for r in chosen}):
                points = sorted((r[factor], r) for r in chosen if r["variant"] == variant)
                xs = [x for x, _ in points]
                for ax, key, scale in ((axes[0], "gaps", 100), (axes[1], "speedups", 1)):
                    means = [mean_std(r[key])[0] for _, r in points]
                    stds = [mean_std(r[key])[1] for _, r in points]
                    if all(v is not None for v in means):
                        ax.errorbar(xs, [v * scale for v in means],
                                    yerr=[v * scale for v in stds], marker="o", capsize=3,
                                    label=variant)
            for ax, title in ((axes[0], "final-loss gap to flush (%)"),
                              (axes[1], "time-to-target speedup")):
                ax.set_xlabel(label)
                ax.set_title(title, fontsize=9)
                if log_x:
                    ax.set_xscale("log")
            axes[0].axhline(0, color="gray", lw=0.8)
            axes[1].axhline(1, color="gray", lw=0.8)
            axes[1].legend(fontsize=7)
            self.plot(fig, f"overview_{factor}.png")

    # ---- NAS studies ------------------------------------------------------------------------
    # TangleNAS's character-level results (validation loss of the derived architecture, mean of 4
    # seeds, its full-size space and budget), to set our ranking beside.
    NAS_REFERENCE = [("drnas", 1.455), ("spos+random", 1.454), ("spos+evolution", 1.465),
                     ("gdas", 1.664), ("darts", 1.722)]

    def nas(self, name):
        if self.studies.get(name, {}).get("pipelines"):
            self.nas_in_pipelines(name)
            return
        records = self.ok(name, "nas")
        if not records:
            return
        preset = records[0]["params"]["preset"]
        retrain = records[0]["params"].get("retrain_steps", 0)
        self.md.append("### Architecture search\n")
        self.md.append(
            f"Preset `{preset['name']}` (configs/nas/presets/{preset['name']}.json): weights "
            f"AdamW lr {preset['weights']['learning_rate']:g}, beta2 "
            f"{preset['weights']['beta2']:g}, warmup {preset['weights']['warmup_steps']}, "
            f"clip {preset['weights']['gradient_clip']:g}; dropout "
            f"{preset['model']['dropout']:g}, tied embeddings "
            f"{'yes' if preset['model']['tied_embeddings'] else 'no'}; architecture Adam lr "
            f"{preset['architecture']['learning_rate']:g}. {records[0]['params']['steps']} search "
            f"steps of {records[0]['params']['batch_size']} sequences for every method. "
            "Entangled: one superposed weight per layer (TangleNAS); separate: one weight per "
            "choice (weight sharing). SPOS trains single paths, then random search and "
            "evolution each derive an architecture; random: sampled networks trained from "
            "scratch for the same total steps, the best kept. Validation losses of each derived "
            f"network: with the weights it ends the search with (inherited), after {retrain} "
            f"more steps from those (fine-tuned), and after {retrain} steps from a fresh "
            "initialisation (scratch). Mean ± std over seeds. A unigram model (character "
            f"frequencies) scores {records[0]['result']['unigram_val_loss']:.3f}.\n")
        rows = collections.defaultdict(list)  # (method, storage) -> [(seed, record, derived)]
        for r in records:
            for d in r["result"]["derived"]:
                rows[(d["method"], r["params"].get("storage", "-"))].append(
                    (r["params"]["seed"], r["result"], d))
        self.md.append("| method | storage | derived widths (per seed) | params | inherited | "
                       "fine-tuned | scratch | search time (s) | supernet (MiB) |")
        self.md.append("|---|---|---|---|---|---|---|---|---|")
        ranking = []
        for (method, storage), group in sorted(rows.items()):
            group.sort(key=lambda item: item[0])
            derived = [d for _, _, d in group]
            widths = "/".join(str(d["architecture"]["embed"]) for d in derived)
            depths = "/".join(str(d["architecture"]["layers"]) for d in derived)
            supernet = group[0][1].get("supernet_bytes", 0)
            self.md.append(
                f"| {method} | {storage} | embed {widths}, layers {depths} | "
                f"{fmt([d['parameters'] for d in derived], 0)} | "
                f"{fmt([d['val_loss_inherited'] for d in derived])} | "
                f"{fmt([d['val_loss_finetuned'] for d in derived])} | "
                f"{fmt([d['val_loss_scratch'] for d in derived])} | "
                f"{fmt([d['search_seconds'] for d in derived], 1)} | "
                f"{f'{supernet / 2**20:.2f}' if supernet else '-'} |")
            params = {"optimizer": method, "storage": storage}
            for metric in ("val_loss_inherited", "val_loss_finetuned", "val_loss_scratch",
                           "search_seconds", "parameters"):
                self.add_row(name, "nas", params, metric, [d[metric] for d in derived])
            if supernet:
                self.add_row(name, "nas", params, "supernet_bytes",
                             [g[1]["supernet_bytes"] for g in group])
            scratch = mean_std([d["val_loss_scratch"] for d in derived])[0]
            if scratch is not None and storage in ("entangled", "-"):
                ranking.append((scratch, method, [d["architecture"]["embed"] for d in derived]))
        self.md.append("")
        if ranking:
            ranking.sort()
            reference = dict(self.NAS_REFERENCE)
            ours = ", ".join(f"{m} {v:.3f}" for v, m, _ in ranking)
            theirs = ", ".join(f"{m} {v:.3f}" for m, v in sorted(self.NAS_REFERENCE,
                                                                   key=lambda x: x[1]))
            self.md.append(f"Ranking by the scratch-retrained loss (entangled storage, and the "
                           f"random baseline): {ours}. TangleNAS's (its full space, its budget): "
                           f"{theirs}.")
            space_widths = records[0]["result"]["space"]["embed"]
            for value, method, widths in ranking:
                if method in ("darts", "gdas", "drnas") and widths:
                    smallest = sum(1 for w in widths if w == min(space_widths))
                    largest = sum(1 for w in widths if w == max(space_widths))
                    self.md.append(f"- {method}: smallest width in {smallest} of {len(widths)} "
                                   f"seeds, largest in {largest} (TangleNAS: "
                                   f"{'DrNAS picked the largest' if method == 'drnas' else 'collapsed to the smallest'}).")
            shared = [m for _, m, _ in ranking if m in reference]
            if len(shared) >= 2:
                ours_order = [m for _, m, _ in ranking if m in reference]
                theirs_order = [m for m, _ in sorted(self.NAS_REFERENCE, key=lambda x: x[1])
                                if m in shared]
                self.md.append(f"\nOrder of the methods both ran: ours {' < '.join(ours_order)}; "
                               f"TangleNAS's {' < '.join(theirs_order)} "
                               f"({'the same' if ours_order == theirs_order else 'different'}).")
            self.md.append("")
        # Any-time curves, entangled storage (and the random baseline), mean over seeds of the
        # derived architecture's validation loss at each point.
        fig, ax = plt.subplots(figsize=(6.8, 4.2))
        for (method, storage), group in sorted(rows.items()):
            if storage not in ("entangled", "-"):
                continue
            for index, (seed, _, d) in enumerate(group):
                curve = d["curve"]
                if curve:
                    ax.plot([c["seconds"] for c in curve], [c["val_loss"] for c in curve],
                            marker=".", alpha=0.8, color=f"C{sorted(rows).index((method, storage)) % 10}",
                            label=method if index == 0 else None)
        ax.set_xlabel("search time (s)")
        ax.set_ylabel("validation loss of the derived architecture (inherited weights)")
        ax.set_title(f"{name}: any-time curves, every seed")
        ax.legend(fontsize=7)
        self.plot(fig, f"{name}_anytime.png")
        self.md.append("")

    @staticmethod
    def pipeline_label(params):
        if params["stages"] * params.get("chunks", 1) == 1:
            return f"one stage m={params['microbatches']}"
        label = f"{params['schedule']} p={params['stages']} m={params['microbatches']}"
        if params.get("chunks", 1) > 1:
            label += f" v={params['chunks']}"
        if params["schedule"] == "paci":
            label += f" a={params['accumulation']}"
        return label

    @staticmethod
    def alpha_distance(a, b):
        """Mean and largest total-variation distance between two searches' final alpha
        distributions, over every decision (embedding width, depth, each layer's heads and MLP
        ratio)."""
        rows_a, rows_b = [], []
        for key in ("embed", "layers", "heads", "mlp_ratio"):
            x, y = a[key], b[key]
            if x and isinstance(x[0], list):
                rows_a += x
                rows_b += y
            else:
                rows_a.append(x)
                rows_b.append(y)
        distances = [0.5 * sum(abs(p - q) for p, q in zip(u, v)) for u, v in zip(rows_a, rows_b)]
        return statistics.fmean(distances), max(distances)

    @staticmethod
    def describe_architecture(arch):
        heads = ",".join(str(h) for h in arch["heads"][:arch["layers"]])
        ratios = ",".join(str(r) for r in arch["mlp_ratio"][:arch["layers"]])
        return f"e{arch['embed']} L{arch['layers']} h[{heads}] r[{ratios}]"

    def nas_in_pipelines(self, name):
        """A NAS study with "pipelines": the supernet searched inside each pipeline."""
        records = self.ok(name, "nas_pipeline")
        if not records:
            return
        first = records[0]
        preset = first["params"]["preset"]
        retrain = first["params"]["retrain_steps"]
        batch = first["params"]["microbatches"] * first["params"]["micro_batch_size"]
        self.md.append("### Search inside the pipeline\n")
        self.md.append(
            f"Preset `{preset['name']}`: weights AdamW lr {preset['weights']['learning_rate']:g}, "
            f"warmup {preset['weights']['warmup_steps']}, cosine over each stage's weight "
            f"steps; architecture Adam lr {preset['architecture']['learning_rate']:g}; GDAS "
            f"temperature {first['params']['gdas_temperature']:g} (fixed). "
            f"{first['params']['steps']} search steps, each an architecture mini-batch then a "
            f"weight mini-batch of {batch} sequences, every micro-batch drawing its own "
            "architecture sample. The supernet is cut into stages by measured time; every "
            "pipeline with the same number of stages is timed by the same measured stage costs "
            "(search time is on that simulated clock). Each derived network is judged in one "
            f"process, the same way for every pipeline: its validation loss with the inherited "
            f"weights, after {retrain} more steps from them (fine-tuned) and after {retrain} "
            "steps from a fresh initialisation (scratch). Drift: the most optimizer updates of "
            "each kind (weights, architecture parameters) any backward crossed since its "
            "forward, over stages and seeds, against the schedule's bound. Mean ± std over "
            f"seeds. A unigram model scores {first['result']['unigram_val_loss']:.3f}.\n")
        groups = collections.defaultdict(list)  # (method, pipeline label) -> records by seed
        order = []
        for r in sorted(records, key=lambda r: r["params"]["seed"]):
            key = (r["params"]["optimizer"], self.pipeline_label(r["params"]))
            if key not in groups:
                order.append(key)
            groups[key].append(r)
        self.md.append("| method | pipeline | derived (per seed) | params | supernet val | "
                       "inherited | fine-tuned | scratch | search time (s, simulated) | "
                       "tokens/s (simulated) | weight drift | alpha drift | bound |")
        self.md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for method, label in sorted(order, key=lambda k: (k[0], order.index(k))):
            group = groups[(method, label)]
            derived = [r["result"]["derived"][0] for r in group]
            summaries = [r["result"]["summary"] for r in group]
            stages = [m for s in summaries for m in s["model_stages"]]
            weight_drift = max(m.get("max_weight_drift", m["max_drift"]) for m in stages)
            alpha_drift = max(m.get("max_architecture_drift", m["max_drift"]) for m in stages)
            bound = max(m["drift_bound"] for m in stages)
            archs = "; ".join(self.describe_architecture(d["architecture"]) for d in derived)
            seconds = [s["simulated"]["seconds"] for s in summaries]
            rates = [s["simulated"]["tokens_per_second"] for s in summaries]
            self.md.append(
                f"| {method} | {label} | {archs} | {fmt([d['parameters'] for d in derived], 0)} | "
                f"{fmt([r['result']['final_validation_loss'] for r in group])} | "
                f"{fmt([d['val_loss_inherited'] for d in derived])} | "
                f"{fmt([d['val_loss_finetuned'] for d in derived])} | "
                f"{fmt([d['val_loss_scratch'] for d in derived])} | {fmt(seconds, 1)} | "
                f"{fmt(rates, 0)} | {weight_drift} | {alpha_drift} | {bound} |")
            params = dict(group[0]["params"], variant=f"{method} {label}")
            for metric, values in (
                    ("val_loss_inherited", [d["val_loss_inherited"] for d in derived]),
                    ("val_loss_finetuned", [d["val_loss_finetuned"] for d in derived]),
                    ("val_loss_scratch", [d["val_loss_scratch"] for d in derived]),
                    ("supernet_val_loss", [r["result"]["final_validation_loss"] for r in group]),
                    ("simulated_search_seconds", seconds),
                    ("simulated_tokens_per_second", rates),
                    ("max_weight_drift", [weight_drift]),
                    ("max_architecture_drift", [alpha_drift])):
                self.add_row(name, "nas_pipeline", params, metric, values)
        self.md.append("")
        self.pipeline_agreement(name, groups)

    def pipeline_agreement(self, name, groups):
        """Seed by seed, each pipeline's search against the one-stage search: the same derived
        architecture or not, the distance between the final alpha distributions, the
        scratch-retrained loss difference, and the simulated speed-up."""
        methods = sorted({method for method, _ in groups})
        self.md.append(
            "Against the one-stage search of the same seed (seed by seed). Alpha distance: the "
            "total-variation distance between the two searches' final alpha distributions, per "
            "decision. A speed-up over one stage compares clocks timed by two measurements (one "
            "stage's costs, the pipeline's), each good to a few percent, so it can exceed the "
            "stage count; the speed-up over 1F1B-flush with as many stages shares one "
            "measurement.\n")
        self.md.append("| method | pipeline | same architecture | alpha distance (mean / max TV) "
                       "| scratch loss - one stage's | speed-up over one stage | "
                       "speed-up over 1F1B-flush |")
        self.md.append("|---|---|---|---|---|---|---|")
        verdicts = []
        for method in methods:
            reference = {}  # seed -> the one-stage search
            flush = {}  # (stages, seed) -> the 1F1B-flush search
            for (m, label), group in groups.items():
                for r in group if m == method else []:
                    if label.startswith("one stage"):
                        reference[r["params"]["seed"]] = r
                    elif label.startswith("1f1b_flush"):
                        flush[(r["params"]["stages"], r["params"]["seed"])] = r
            for (m, label), group in sorted(groups.items()):
                if m != method or label.startswith("one stage"):
                    continue
                same, mean_tv, max_tv, delta, speedup, over_flush = 0, [], [], [], [], []
                for r in group:
                    ref = reference.get(r["params"]["seed"])
                    if ref is None:
                        continue
                    mine, theirs = r["result"], ref["result"]
                    same += mine["derived"][0]["architecture"] == theirs["derived"][0]["architecture"]
                    tv = self.alpha_distance(mine["alpha"], theirs["alpha"])
                    mean_tv.append(tv[0])
                    max_tv.append(tv[1])
                    losses = (mine["derived"][0]["val_loss_scratch"],
                              theirs["derived"][0]["val_loss_scratch"])
                    if None not in losses:  # a study that does not retrain from scratch
                        delta.append(losses[0] - losses[1])
                    speedup.append(theirs["summary"]["simulated"]["seconds"] /
                                   mine["summary"]["simulated"]["seconds"])
                    f = flush.get((r["params"]["stages"], r["params"]["seed"]))
                    if f is not None:
                        over_flush.append(f["result"]["summary"]["simulated"]["seconds"] /
                                          mine["summary"]["simulated"]["seconds"])
                n = len(mean_tv)
                if n == 0:
                    continue
                self.md.append(
                    f"| {method} | {label} | {same} of {n} | {fmt(mean_tv, 4)} / "
                    f"{max(max_tv):.4f} | {fmt(delta, 4)} | {fmt(speedup, 2, suffix='x')} | "
                    f"{fmt(over_flush, 2, suffix='x') if not label.startswith('1f1b_flush') else '-'} |")
                params = {"optimizer": method, "variant": f"{method} {label}"}
                self.add_row(name, "nas_pipeline", params, "same_architecture_as_one_stage",
                             [same / n])
                self.add_row(name, "nas_pipeline", params, "alpha_tv_to_one_stage", mean_tv)
                if over_flush and not label.startswith("1f1b_flush"):
                    self.add_row(name, "nas_pipeline", params, "speedup_over_flush", over_flush)
                verdicts.append((method, label, same, n, mean_std(delta)[0]))
        self.md.append("")
        for method, label, same, n, delta in verdicts:
            loss = ("" if delta is None else
                    f"; scratch-retrained loss {delta:+.4f} from it on average")
            self.md.append(f"- {method}, {label}: the one-stage search's architecture in {same} "
                           f"of {n} seeds{loss}.")
        self.md.append("")

    def nas_cost(self, name):
        records = self.ok(name, "nas_cost")
        if not records:
            return
        self.md.append("### Supernet cost\n")
        self.md.append(
            "One weight-training step (forward, backward, AdamW) of each supernet, in a process "
            "of its own. Parameters and AdamW's moments are counted from the tensors; step "
            "working memory is the resident-set high-water mark during a step above the resident "
            "set before it (LibTorch's CPU allocator keeps no statistics); peak RSS is the "
            "process's highest resident set during the timed steps. Dense mixing weights every candidate (DARTS, DrNAS), one-hot one sampled "
            "path (GDAS, SPOS). Exact attention runs every width x head-count pair on its own; "
            "reference attention superposes the projections and runs one attention per head "
            "count. One-hot gap: the largest logit difference between the supernet under "
            "one-hot mixing and the extracted network.\n")
        self.md.append("| storage | attention | mixing | parameters (MiB) | AdamW state (MiB) | "
                       "step working (MiB) | peak RSS (MiB) | step time (ms) | one-hot gap |")
        self.md.append("|---|---|---|---|---|---|---|---|---|")
        mib = 2 ** 20
        for r in sorted(records, key=lambda r: (r["params"]["storage"], r["params"]["attention"],
                                                 r["params"]["mixing"])):
            p, x = r["params"], r["result"]
            gap = "-" if x["one_hot_max_abs_diff"] is None else f"{x['one_hot_max_abs_diff']:.1e}"
            self.md.append(
                f"| {p['storage']} | {p['attention']} | {p['mixing']} | "
                f"{x['parameter_bytes'] / mib:.2f} | {x['optimizer_state_bytes'] / mib:.2f} | "
                f"{x['step_working_bytes'] / mib:.1f} | {x['peak_rss_bytes'] / mib:.0f} | "
                f"{x['step_seconds'] * 1e3:.0f} | {gap} |")
            params = {"optimizer": f"{p['attention']} {p['mixing']}", "storage": p["storage"]}
            for metric in ("step_seconds", "step_working_bytes", "peak_rss_bytes",
                           "parameter_bytes"):
                self.add_row(name, "nas_cost", params, metric, [x[metric]])
        self.md.append("")

    # ---- the whole report -------------------------------------------------------------------
    def write(self):
        m = self.manifest
        self.md = [
            f"# {self.config.get('experiment', '')}\n",
            f"{self.config.get('description', '')}\n",
            f"Commit `{m.get('git_commit', 'unknown')[:12]}` (dirty: {m.get('git_dirty')}), "
            f"{m.get('created_utc')}, {m.get('cpu_count')} x {m.get('cpu_model')}, "
            f"BLAS {m.get('blas', {}).get('kind')}, LibTorch "
            f"{m.get('libraries', {}).get('libtorch')}. Full provenance: "
            "[manifest.json](manifest.json); raw records: [results.jsonl](results.jsonl); "
            "[summary.csv](summary.csv); [benchmark.json](benchmark.json).\n"]
        if m.get("records_from"):
            self.md.append("Records come from more than one run (resumed): " +
                           ", ".join(f"{s['cells']} cells at `{s['git_commit']}` on "
                                     f"{s['host']}" for s in m["records_from"]) + ".\n")
        header = len(self.md)
        for study in self.config.get("studies", []):
            self.md.append(f"## {study['name']}\n")
            if study.get("note"):
                self.md.append(f"{study['note']}\n")
            getattr(self, study["kind"])(study["name"])
        self.training_overview()
        if self.compare_to:
            self.md[header:header] = reproduction.check(self.out_dir, self.rows, self.compare_to)
        failed = [r for r in self.records if r["status"] != "ok"]
        if failed:
            self.md.append("## Cells that did not finish\n")
            for r in failed:
                error = r.get("error", "").replace("\n", " ")[:300]
                self.md.append(f"- **{r['status']}** {r['kind']} `{json.dumps(r['params'])}`: "
                               f"{error}")
            self.md.append("")
        with open(os.path.join(self.out_dir, "report.md"), "w") as f:
            f.write("\n".join(self.md) + "\n")
        with open(os.path.join(self.out_dir, "summary.csv"), "w", newline="") as f:
            fields = ["study", "kind", "model", "variant", "schedule", "stages", "microbatches",
                      "accumulation", "chunks", "storage", "metric", "mean", "std", "n"]
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
        with open(os.path.join(self.out_dir, "benchmark.json"), "w") as f:
            json.dump({"context": {"date": m.get("created_utc"),
                                   "host_name": m.get("cpu_model"),
                                   "num_cpus": m.get("cpu_count"),
                                   "library_build_type": "release",
                                   "pipebench_commit": m.get("git_commit")},
                       "benchmarks": self.benchmarks}, f, indent=1)


def main(argv):
    compare_to = [a.split("=", 1)[1] for a in argv[2:] if a.startswith("--compare_to=")]
    if len(argv) < 2 or len(argv) - 2 != len(compare_to):
        sys.exit(__doc__)
    Report(argv[1], compare_to[0] if compare_to else None).write()


if __name__ == "__main__":
    main(sys.argv)
