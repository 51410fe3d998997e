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
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reproduction  # noqa: E402
from report_common import *  # noqa: E402,F401,F403
from report_common import plt  # noqa: E402,F401
from report_convergence import ConvergenceSections  # noqa: E402
from report_nas import NasSections  # noqa: E402
from report_pipeline import PipelineSections  # noqa: E402
from report_training import TrainingSections  # noqa: E402


class Report(PipelineSections, TrainingSections, ConvergenceSections, NasSections):
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
            "storage": params.get("storage", ""), "costs": costs_source(kind, params),
            "metric": metric,
            "mean": f"{mean:.6g}", "std": f"{std:.6g}", "n": n})

    def plot(self, fig, name):
        name = name.replace(".png", f"{self.plot_tag}.png")
        path = os.path.join(self.plots_dir, name)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        self.md.append(f"\n![{name}](plots/{name})\n")

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
                      "accumulation", "chunks", "storage", "costs", "metric", "mean", "std",
                      "n"]
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
