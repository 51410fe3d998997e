"""The convergence section of a training study with "convergence_fractions": does an asynchronous
schedule's loss gap to 1F1B-flush close by the end of a run trained to a plateau? (a mixin of
make_report.Report; the study is configs/experiments/convergence.json)

Per (p, m) group and seed, against 1F1B-flush's run of the same seed:
 - the plateau: how much flush's validation loss still falls over the last 500 steps;
 - the equal-step gap (this schedule's loss over flush's at the same step, minus one) at points
   through the run, so a gap that closes during the cosine decay shows;
 - for each fraction f, the target flush's loss at f of its run: steps-to-target ratio (flush's
   steps over this schedule's) and time-to-target speedup (the same on the simulated clock).
"""
import statistics

from report_common import *  # noqa: F401,F403
from report_common import plt

# Where through the run the equal-step gap is tabulated (fractions of the run's steps).
GAP_POINTS = (0.1, 0.25, 0.5, 0.75, 1.0)
# Steps over which flush's final fall is measured, and the fall per that span that counts as
# "still falling" (issue: more than ~1% per 500 steps at the end).
PLATEAU_SPAN = 500
PLATEAU_FALL = 0.01


def val_points(curve, key="step"):
    return [(c[key], c["val_loss"]) for c in curve if "val_loss" in c]


def value_at(curve, x, key="step"):
    """The validation loss at `x` (a step, or with key="sim_time" a time), interpolated between
    evaluations; None outside the evaluated span."""
    points = val_points(curve, key)
    for (x0, l0), (x1, l1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return l0 + (l1 - l0) * (x - x0) / (x1 - x0) if x1 > x0 else l1
    if points and x == points[-1][0]:
        return points[-1][1]
    return None


def final_fall(curve, span=PLATEAU_SPAN):
    """How much the validation loss fell over the run's last `span` steps, relative to where it
    was; None when the run is shorter."""
    points = val_points(curve)
    if not points or points[-1][0] - span < points[0][0]:
        return None
    before = value_at(curve, points[-1][0] - span)
    return (before - points[-1][1]) / before


def gap_at(curve, baseline_curve, step):
    """This run's loss over the baseline's at `step`, minus one; None outside either's span."""
    mine, theirs = value_at(curve, step), value_at(baseline_curve, step)
    return None if mine is None or theirs is None else mine / theirs - 1


def equal_step_gap(curve, baseline_curve, fraction):
    """The gap at `fraction` of the baseline's steps."""
    return gap_at(curve, baseline_curve, fraction * val_points(baseline_curve)[-1][0])


def flush_target(baseline_curve, fraction):
    """The loss 1F1B-flush reaches at `fraction` of its run's steps."""
    return value_at(baseline_curve, fraction * val_points(baseline_curve)[-1][0])


class ConvergenceSections:
    def convergence_section(self, name, records):
        fractions = self.studies[name]["convergence_fractions"]
        self.md.append("### Convergence\n")
        self.md.append(
            f"Against {BASELINE} seed by seed. Plateau: how much {BASELINE}'s validation loss "
            f"fell over the last {PLATEAU_SPAN} steps (still falling: more than "
            f"{PLATEAU_FALL:.0%}). Equal-step gap: the schedule's validation loss over "
            f"{BASELINE}'s at the same step, minus one, at points through the run. Targets: the "
            f"loss {BASELINE} reaches at a fraction of its run; steps ratio = {BASELINE}'s steps "
            "to it over the schedule's, speedup = the same on the simulated clock (its throughput "
            "ratio times its steps ratio). Mean ± std over seeds.\n")
        by_group = collections.defaultdict(lambda: collections.defaultdict(dict))
        for r in records:
            by_group[group_key(r["params"])][r["params"]["variant"]][r["params"]["seed"]] = r
        for (p, m), variants in sorted(by_group.items()):
            base = variants.get(BASELINE)
            if not base:
                self.md.append(f"p = {p}, m = {m}: no {BASELINE} runs to compare with.\n")
                continue
            self.plateau_line(name, p, m, base)
            self.gap_table(name, variants, base)
            self.target_table(name, variants, base, fractions)
            self.convergence_plot(name, p, m, variants, base)
        self.md.append("")

    def plateau_line(self, name, p, m, base):
        falls = [final_fall(r["result"]["curve"]) for r in base.values()]
        mean, _, n = mean_std(falls)
        if n == 0:
            self.md.append(f"p = {p}, m = {m}: runs shorter than {PLATEAU_SPAN} steps; no "
                           "plateau check.\n")
            return
        verdict = ("still falling: the run is short of a plateau" if mean > PLATEAU_FALL
                   else "a plateau")
        self.md.append(f"p = {p}, m = {m}. {BASELINE}'s validation loss fell "
                       f"{fmt(falls, 2, 100, '%')} over its last {PLATEAU_SPAN} steps: "
                       f"{verdict}.\n")
        self.add_row(name, "training", next(iter(base.values()))["params"],
                     f"final_{PLATEAU_SPAN}_step_fall", falls)

    def gap_table(self, name, variants, base):
        self.md.append("| schedule | " + " | ".join(f"gap at {f:.0%}" for f in GAP_POINTS) + " |")
        self.md.append("|---|" + "---|" * len(GAP_POINTS))
        for variant in sorted(v for v in variants if v != BASELINE):
            runs = variants[variant]
            cells = []
            for f in GAP_POINTS:
                gaps = [equal_step_gap(r["result"]["curve"], base[s]["result"]["curve"], f)
                        for s, r in sorted(runs.items()) if s in base]
                cells.append(fmt(gaps, 1, 100, "%"))
                self.add_row(name, "training", next(iter(runs.values()))["params"],
                             f"equal_step_gap_at_{round(f * 100)}", gaps)
            self.md.append(f"| {variant} | " + " | ".join(cells) + " |")
        self.md.append("")

    def target_table(self, name, variants, base, fractions):
        self.md.append("| schedule | target | target loss | steps ratio | speedup |")
        self.md.append("|---|---|---|---|---|")
        for variant in sorted(v for v in variants if v != BASELINE):
            runs = variants[variant]
            params = next(iter(runs.values()))["params"]
            for f in fractions:
                targets, step_ratios, speedups, missed = [], [], [], 0
                for seed, r in sorted(runs.items()):
                    if seed not in base:
                        continue
                    flush_curve, curve = base[seed]["result"]["curve"], r["result"]["curve"]
                    goal = flush_target(flush_curve, f)
                    if goal is None:  # f falls before flush's first evaluation
                        continue
                    targets.append(goal)
                    steps = time_to_target(curve, goal, key="step")
                    if steps is None:
                        missed += 1
                        continue
                    step_ratios.append(time_to_target(flush_curve, goal, key="step") / steps)
                    speedups.append(time_to_target(flush_curve, goal) /
                                    time_to_target(curve, goal))
                late = f" (not reached in {missed} of {len(targets)})" if missed else ""
                self.md.append(f"| {variant} | {BASELINE} at {f:.0%} | {fmt(targets, 3)} | "
                               f"{fmt(step_ratios, 2, 1, 'x')}{late} | "
                               f"{fmt(speedups, 2, 1, 'x')}{late} |")
                pct = round(f * 100)
                self.add_row(name, "training", params, f"steps_ratio_at_flush_{pct}", step_ratios)
                self.add_row(name, "training", params, f"speedup_at_flush_{pct}", speedups)
        self.md.append("")

    def convergence_plot(self, name, p, m, variants, base):
        fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.8))
        for variant in sorted(variants):
            runs = variants[variant]
            steps = sorted(set.intersection(*(
                {s for s, _ in val_points(r["result"]["curve"])} for r in runs.values())))
            losses = [[value_at(r["result"]["curve"], s) for r in runs.values()] for s in steps]
            means = [statistics.fmean(ls) for ls in losses]
            stds = [statistics.stdev(ls) if len(ls) > 1 else 0.0 for ls in losses]
            line, = axes[0].plot(steps, means, label=variant, lw=1.2)
            axes[0].fill_between(steps, [a - b for a, b in zip(means, stds)],
                                 [a + b for a, b in zip(means, stds)],
                                 color=line.get_color(), alpha=0.2)
            if variant == BASELINE:
                continue
            gaps = [[gap_at(r["result"]["curve"], base[s]["result"]["curve"], x)
                     for s, r in runs.items() if s in base] for x in steps]
            gaps = [[g * 100 for g in gs if g is not None] for gs in gaps]
            kept = [(x, gs) for x, gs in zip(steps, gaps) if gs]
            xs = [x for x, _ in kept]
            gm = [statistics.fmean(gs) for _, gs in kept]
            gs_ = [statistics.stdev(gs) if len(gs) > 1 else 0.0 for _, gs in kept]
            axes[1].plot(xs, gm, label=variant, color=line.get_color(), lw=1.2)
            axes[1].fill_between(xs, [a - b for a, b in zip(gm, gs_)],
                                 [a + b for a, b in zip(gm, gs_)],
                                 color=line.get_color(), alpha=0.2)
        axes[0].set_xlabel("step")
        axes[0].set_ylabel("validation loss (mean ± std over seeds)")
        axes[0].set_title(f"{name}: p = {p}, m = {m}", fontsize=9)
        axes[0].legend(fontsize=7)
        axes[1].axhline(0, color="gray", lw=0.8)
        axes[1].set_xlabel("step")
        axes[1].set_ylabel(f"equal-step gap to {BASELINE} (%)")
        axes[1].set_title("does the gap close during the decay?", fontsize=9)
        self.plot(fig, f"{name}_convergence_p{p}_m{m}.png")
