"""Report sections of pipeline studies: simulated throughput, memory and drift, the executor and
distributed runs (a mixin of make_report.Report)."""
import collections
import json
import math
import statistics

from report_common import *  # noqa: F401,F403
from report_common import plt  # noqa: F401


class PipelineSections:
    # ---- pipeline studies -------------------------------------------------------------------
    def pipeline(self, name):
        self.per_model(name, ("sim", "executor", "distributed"), self.pipeline_of_model)

    def pipeline_of_model(self, name):
        sims = self.ok(name, "sim")
        if sims:
            self.costs_note(sims)
            self.throughput_section(name, sims)
            self.memory_section(name, sims)
            self.drift_section(name, sims)
        executors = self.ok(name, "executor")
        if executors:
            self.executor_section(name, executors)
        distributed = self.ok(name, "distributed")
        if distributed:
            self.distributed_section(name, distributed, sims)

    def costs_note(self, sims):
        """Says what the simulations were priced with: pinned costs (with who measured them and
        their noise), another cost file, or costs measured by this run."""
        sources = sorted({costs_source("sim", r["params"]) for r in sims})
        for source in sources:
            if source == "measured":
                self.md.append("Priced with costs measured on the machine running this report "
                               "(its costs cells): they move from machine to machine, so the "
                               "reproduction check allows them a tolerance.\n")
                continue
            if source == "inline":
                self.md.append("Priced with the cost model written in the config.\n")
                continue
            path = repository_file(source)
            pinned = None
            if path:
                with open(path) as f:
                    pinned = json.load(f)
            if not pinned or "cuts" not in pinned:
                self.md.append(f"Priced with the cost file `{source}`, the same on every "
                               "machine.\n")
                continue
            made = pinned.get("made_by", {})
            noise = ", ".join(f"{c['model_stages']}: {c['spread']:.1%}" for c in pinned["cuts"])
            self.md.append(
                f"Priced with pinned costs `{source}`, the same on every machine: measured by "
                f"`//:pin_costs` at commit `{made.get('git_commit', '?')[:12]}` on "
                f"{made.get('cpu_count', '?')} x {made.get('cpu_model', '?')}, "
                f"{made.get('created_utc', '?')}; spread of each cut's whole-model compute over "
                f"{pinned.get('repeats')} repeats, by stage count: {noise}.")
            whole = next((c for c in pinned["cuts"] if c["model_stages"] == 1), None)
            for cut in pinned["cuts"]:
                if not whole or cut is whole:
                    continue
                change = cut["compute_seconds"] / whole["compute_seconds"] - 1
                if abs(change) > cut["spread"] + whole["spread"]:
                    self.md.append(
                        f"Cut into {cut['model_stages']} stages, the model measures "
                        f"{change:+.1%} against the uncut model, more than the two measurements' "
                        "noise: each stage's costs were timed alone, so a stage small enough to "
                        "stay in cache is cheaper than its share of the whole model.")
            self.md.append("")

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
