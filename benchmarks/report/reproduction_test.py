"""The reproduction check's tolerance logic on hand-made reports (run by make_report_test.sh)."""
import csv
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reproduction  # noqa: E402

FIELDS = ["study", "kind", "model", "variant", "schedule", "stages", "microbatches",
          "accumulation", "chunks", "storage", "metric", "mean", "std", "n"]


def row(study, kind, variant, metric, mean, p="4", m="8", storage="", model="gpt"):
    return {"study": study, "kind": kind, "model": model, "variant": variant,
            "schedule": variant, "stages": p if kind != "nas" else "",
            "microbatches": m if kind != "nas" else "", "accumulation": "", "chunks": "",
            "storage": storage, "metric": metric, "mean": str(mean), "std": "0", "n": "1"}


def report(paci_speedup=1.35, paci_memory=100.0, drift=1, tta=1.5, ttt=20.0, gap=0.017,
           entangled=50.0, extra=()):
    rows = [
        row("throughput", "sim", "1f1b_flush", "speedup_vs_baseline", 1.0),
        row("throughput", "sim", "paci", "speedup_vs_baseline", paci_speedup),
        row("throughput", "sim", "1f1b_flush", "peak_memory_max_bytes", 100.0),
        row("throughput", "sim", "paci", "peak_memory_max_bytes", paci_memory),
        row("throughput", "sim", "paci", "max_drift", drift),
        row("tta", "training", "1f1b_flush", "tta_speedup", 1.0),
        row("tta", "training", "paci", "tta_speedup", tta),
        row("tta", "training", "paci", "time_to_target", ttt),
        row("tta", "training", "paci", "final_loss_gap", gap),
        row("nas", "nas", "drnas", "supernet_bytes", entangled, storage="entangled"),
        row("nas", "nas", "drnas", "supernet_bytes", 100.0, storage="separate"),
    ]
    return rows + list(extra)


def by_quantity(comparison):
    return {r["quantity"]: r for r in comparison}


class ReproductionTest(unittest.TestCase):
    def test_identical_reports_reproduce_every_judged_quantity(self):
        comparison = reproduction.compare(report(), report())
        judged = [r for r in comparison if r["judged"]]
        self.assertEqual(len(judged), 6)  # speedup, memory, drift, tta, gap, NAS memory
        self.assertTrue(all(r["verdict"] == "reproduced" for r in judged))
        # The baseline's own speedup (1 by definition) is not a quantity.
        self.assertFalse(any("1f1b_flush" in r["quantity"] for r in comparison))

    def test_relative_tolerance_inside_and_outside(self):
        inside = by_quantity(reproduction.compare(report(paci_speedup=1.30), report(1.25)))
        q = "simulated throughput over 1F1B-flush: throughput paci p=4 m=8"
        self.assertEqual(inside[q]["verdict"], "reproduced")  # +4% within 10%
        outside = by_quantity(reproduction.compare(report(paci_speedup=1.35), report(1.20)))
        self.assertEqual(outside[q]["verdict"], "differs by +12.5%")
        self.assertEqual(outside[q]["tolerance"], "±10%")

    def test_exact_quantities_and_absolute_tolerances(self):
        result = by_quantity(reproduction.compare(report(drift=2, gap=0.030, paci_memory=150.0),
                                                  report()))
        self.assertEqual(result["max version drift (updates): throughput paci p=4 m=8"]["verdict"],
                         "differs by +1")
        self.assertEqual(result["final loss gap to flush: tta paci p=4 m=8"]["verdict"],
                         "differs by +0.013")
        memory = result["peak memory over 1F1B-flush: throughput paci p=4 m=8"]
        self.assertAlmostEqual(memory["value"], 1.5)
        self.assertEqual(memory["verdict"], "differs by +50.0%")

    def test_absolute_times_are_shown_never_judged(self):
        result = by_quantity(reproduction.compare(report(ttt=99.0), report(ttt=20.0)))
        row_ = result["time to target, s: tta paci p=4 m=8"]
        self.assertFalse(row_["judged"])
        self.assertEqual((row_["value"], row_["reference"]), (99.0, 20.0))
        self.assertTrue(row_["verdict"].startswith("not judged"))

    def test_quantities_on_one_side_only_are_listed_and_differences_come_first(self):
        extra = [row("throughput", "sim", "zb_h1", "speedup_vs_baseline", 1.1)]
        comparison = reproduction.compare(report(tta=1.0, extra=extra), report(tta=1.5))
        self.assertTrue(comparison[0]["verdict"].startswith("differs"))
        result = by_quantity(comparison)
        self.assertEqual(
            result["simulated throughput over 1F1B-flush: throughput zb_h1 p=4 m=8"]["verdict"],
            "not in the reference")
        back = by_quantity(reproduction.compare(report(), report(extra=extra)))
        self.assertEqual(
            back["simulated throughput over 1F1B-flush: throughput zb_h1 p=4 m=8"]["verdict"],
            "not in this run")

    def test_check_writes_json_and_a_summary_line(self):
        with tempfile.TemporaryDirectory() as reference, tempfile.TemporaryDirectory() as out:
            with open(os.path.join(reference, "summary.csv"), "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=FIELDS)
                writer.writeheader()
                writer.writerows(report(entangled=80.0))
            with open(os.path.join(reference, "manifest.json"), "w") as f:
                json.dump({"git_commit": "abc123def4567890", "cpu_count": 2}, f)
            lines = reproduction.check(out, report(entangled=50.0), reference)
            text = "\n".join(lines)
            self.assertIn("**5 of 6 judged ratios reproduced**", text)
            self.assertIn("`abc123def456`", text)
            self.assertIn("differs by -37.5%", text)  # 0.5 vs 0.8
            with open(os.path.join(out, "reproduction.json")) as f:
                saved = json.load(f)
            self.assertEqual(saved["reference_commit"], "abc123def4567890")
            self.assertEqual(len(saved["quantities"]), 7)
            # No absolute path of this machine: the folder's name (it is outside the working
            # folder here).
            self.assertEqual(saved["reference"], os.path.basename(reference))
            self.assertNotIn(reference, text)

    def test_cost_file_quantities_are_judged_exactly(self):
        def priced(rows):
            return [dict(r, costs="configs/costs/x.json") if r["kind"] == "sim" else r
                    for r in rows]
        ours = by_quantity(reproduction.compare(priced(report(paci_speedup=1.3501,
                                                              paci_memory=100.01)),
                                                priced(report(paci_speedup=1.35))))
        speedup = ours["simulated throughput over 1F1B-flush (cost file): throughput paci p=4 m=8"]
        self.assertEqual(speedup["tolerance"], "±0%")
        self.assertEqual(speedup["verdict"], "differs by +7.4e-05x")  # any change is one
        memory = ours["peak memory over 1F1B-flush (cost file): throughput paci p=4 m=8"]
        self.assertTrue(memory["verdict"].startswith("differs"))
        same = reproduction.compare(priced(report()), priced(report()))
        self.assertTrue(all(r["verdict"] == "reproduced" for r in same if r["judged"]))
        # Measured costs keep their tolerance.
        measured = [dict(r, costs="measured") for r in report(paci_speedup=1.36)]
        kept = by_quantity(reproduction.compare(measured, report()))
        self.assertEqual(kept["simulated throughput over 1F1B-flush: throughput paci p=4 m=8"]
                         ["verdict"], "reproduced")


if __name__ == "__main__":
    unittest.main()
