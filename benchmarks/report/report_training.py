"""Report sections of training studies: time to accuracy per study and the studies side by side
(a mixin of make_report.Report)."""
import collections
import json
import math
import statistics

from report_common import *  # noqa: F401,F403
from report_common import plt  # noqa: F401


class TrainingSections:
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
                    tokens_per_step=m * params["micro_batch_size"] * model_field(
                        params["model"], "context"),
                    width=model_field(params["model"], "embed"),
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
        if study.get("convergence_fractions"):
            self.convergence_section(name, records)

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
        self.md.append("| study | p | m | lr | tokens/step | steps | width | schedule | "
                       "final-loss gap | throughput ratio | steps ratio | time-to-target speedup | "
                       "speedup / throughput |")
        self.md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            kept = [s / t for s, t in zip(r["speedups"], r["throughput"])] \
                if len(r["speedups"]) == len(r["throughput"]) else []
            r["kept"] = kept
            self.md.append(
                f"| {r['study']} | {r['p']} | {r['m']} | {r['lr']:g} | {r['tokens_per_step']:,} | "
                f"{r['steps'] if r['steps'] else '-'} | {r['width']} | {r['variant']} | "
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
                   ("steps", "run length (steps)", True), ("width", "model width (embedding)", True)]
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
