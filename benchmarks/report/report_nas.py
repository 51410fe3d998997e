"""Report sections of architecture-search studies: the search alone, inside pipelines, and its
cost (a mixin of make_report.Report)."""
import collections
import json
import math
import statistics

from report_common import *  # noqa: F401,F403
from report_common import plt  # noqa: F401


class NasSections:
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
