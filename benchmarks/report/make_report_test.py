"""Unit tests of the report's arithmetic (run by make_report_test.sh with Debian's python3)."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_report  # noqa: E402
import report_convergence  # noqa: E402


class TimeToTargetTest(unittest.TestCase):
    CURVE = [{"sim_time": 1.0, "val_loss": 3.0}, {"sim_time": 1.5},  # no evaluation at 1.5
             {"sim_time": 2.0, "val_loss": 2.0}, {"sim_time": 3.0, "val_loss": 1.5}]

    def test_interpolates_between_evaluations(self):
        self.assertAlmostEqual(make_report.time_to_target(self.CURVE, 2.5), 1.5)
        self.assertAlmostEqual(make_report.time_to_target(self.CURVE, 1.75), 2.5)

    def test_first_evaluation_below_target_and_never_reached(self):
        self.assertEqual(make_report.time_to_target(self.CURVE, 3.5), 1.0)
        self.assertIsNone(make_report.time_to_target(self.CURVE, 1.0))


    def test_steps_to_target_interpolate_the_same_way(self):
        curve = [{"sim_time": 1.0, "step": 10, "val_loss": 3.0},
                 {"sim_time": 2.0, "step": 20, "val_loss": 2.0}]
        self.assertAlmostEqual(make_report.time_to_target(curve, 2.5, key="step"), 15)
        self.assertIsNone(make_report.time_to_target(curve, None))


def curve(*losses, dt=1.0):
    return [{"sim_time": dt * (i + 1), "step": i + 1, "val_loss": loss}
            for i, loss in enumerate(losses)]


class TrainingTargetTest(unittest.TestCase):
    def test_paper_target_is_the_lowest_loss_both_runs_of_a_pair_reach(self):
        curves = {"1f1b_flush": curve(3.0, 2.2, 2.0), "paci": curve(3.0, 2.5, 2.3, 2.4),
                  "weak": curve(3.0, 2.9)}
        # flush's best is 2.0, PACI's 2.3: both reach 2.3, not both reach anything lower. A
        # weaker third run does not loosen PACI's target (a group-wide one would be 2.9).
        self.assertAlmostEqual(
            make_report.training_target("paper", curves, "1f1b_flush", "paci"), 2.3)
        self.assertAlmostEqual(
            make_report.training_target("paper", curves, "1f1b_flush", "weak"), 2.9)
        self.assertAlmostEqual(
            make_report.training_target("paper", curves, "1f1b_flush", "1f1b_flush"), 2.0)

    def test_a_fixed_value_and_flush_at_a_fraction_of_its_run(self):
        curves = {"1f1b_flush": curve(3.0, 2.0, 1.0, 0.5), "paci": curve(3.0)}
        self.assertEqual(make_report.training_target(1.7, curves, "1f1b_flush", "paci"), 1.7)
        # flush's run ends at t=4; half-way, t=2, its loss is 2.0; at 0.625 (t=2.5), 1.5.
        self.assertAlmostEqual(make_report.training_target(
            {"flush_fraction": 0.5}, curves, "1f1b_flush", "paci"), 2.0)
        self.assertAlmostEqual(make_report.training_target(
            {"flush_fraction": 0.625}, curves, "1f1b_flush", "paci"), 1.5)

    def test_no_target_without_evaluations_or_baseline(self):
        self.assertIsNone(make_report.training_target(
            "paper", {"a": curve(2.0), "b": [{"sim_time": 1.0, "step": 1}]}, "a", "b"))
        self.assertIsNone(make_report.training_target(
            {"flush_fraction": 0.5}, {"paci": curve(2.0)}, "1f1b_flush", "paci"))
        self.assertIsNone(make_report.training_target("paper", {"paci": curve(2.0)},
                                                      "1f1b_flush", "paci"))

    def test_a_target_no_run_reaches_gives_no_time(self):
        self.assertIsNone(make_report.time_to_target(curve(3.0, 2.5), 1.0))


class FormatTest(unittest.TestCase):
    def test_mean_and_sample_std_over_seeds(self):
        self.assertEqual(make_report.fmt([1.0, 2.0, 3.0], 2), "2.00 ± 1.00")
        self.assertEqual(make_report.fmt([0.25], 1, 100, "%"), "25.0%")
        self.assertEqual(make_report.fmt([None]), "-")


class BenchmarkEntryTest(unittest.TestCase):
    def test_google_benchmark_fields(self):
        entry = make_report.benchmark_entry("s/paci/p:4/m:8/sim", 2.5, 1000.0, bubble_fraction=0.1)
        self.assertEqual(entry["run_type"], "iteration")
        self.assertEqual(entry["real_time"], 2.5)
        self.assertEqual(entry["time_unit"], "s")
        self.assertEqual(entry["items_per_second"], 1000.0)
        self.assertEqual(entry["bubble_fraction"], 0.1)


class SummarySchemaTest(unittest.TestCase):
    def test_records_of_another_schema_are_refused_with_what_to_do(self):
        before_schema = {"status": "ok", "kind": "sim", "params": {"variant": "paci"},
                         "result": {"microbatches_per_second": 1.0}}
        with self.assertRaises(SystemExit) as raised:
            make_report.check_schema([before_schema])
        self.assertIn("paci", str(raised.exception.code))
        self.assertIn("rerun", str(raised.exception.code))
        newer = {"status": "ok", "kind": "training", "params": {"variant": "paci"},
                 "result": {"summary": {"schema_version": 2}}}
        with self.assertRaises(SystemExit):
            make_report.check_schema([newer])

    def test_current_summaries_failed_cells_and_other_kinds_pass(self):
        make_report.check_schema([
            {"status": "ok", "kind": "distributed", "params": {},
             "result": {"summary": {"schema_version": make_report.SUMMARY_SCHEMA_VERSION}}},
            {"status": "ok", "kind": "nas", "params": {}, "result": {"architecture": {}}},
            {"status": "failed", "kind": "simulate", "params": {}}])

    def test_pipelined_searches_are_checked_too(self):
        old = {"status": "ok", "kind": "nas_pipeline", "params": {"schedule": "paci"},
               "result": {"summary": {"schema_version": 0}}}
        with self.assertRaises(SystemExit) as raised:
            make_report.check_schema([old])
        self.assertIn("paci", str(raised.exception.code))


class PipelinedSearchTest(unittest.TestCase):
    def test_alpha_distance_is_total_variation_over_every_decision(self):
        a = {"embed": [0.5, 0.5], "layers": [1.0, 0.0], "heads": [[0.2, 0.8], [0.5, 0.5]],
             "mlp_ratio": [[1.0, 0.0], [0.0, 1.0]]}
        b = {"embed": [0.5, 0.5], "layers": [0.0, 1.0], "heads": [[0.4, 0.6], [0.5, 0.5]],
             "mlp_ratio": [[1.0, 0.0], [0.0, 1.0]]}
        mean, largest = make_report.Report.alpha_distance(a, b)
        # Six decisions: depth moved entirely (1.0), layer 0's heads by 0.2, the rest not.
        self.assertAlmostEqual(mean, 1.2 / 6)
        self.assertAlmostEqual(largest, 1.0)
        self.assertEqual(make_report.Report.alpha_distance(a, a), (0.0, 0.0))

    def test_pipeline_labels_and_architectures(self):
        self.assertEqual(make_report.Report.pipeline_label(
            {"schedule": "1f1b_flush", "stages": 1, "microbatches": 4, "accumulation": 4}),
            "one stage m=4")
        self.assertEqual(make_report.Report.pipeline_label(
            {"schedule": "paci", "stages": 4, "microbatches": 8, "accumulation": 2}),
            "paci p=4 m=8 a=2")
        self.assertEqual(make_report.Report.pipeline_label(
            {"schedule": "interleaved_1f1b", "stages": 2, "microbatches": 4, "chunks": 2,
             "accumulation": 4}), "interleaved_1f1b p=2 m=4 v=2")
        self.assertEqual(make_report.Report.describe_architecture(
            {"embed": 48, "layers": 2, "heads": [4, 2, 6], "mlp_ratio": [2, 3, 4]}),
            "e48 L2 h[4,2] r[2,3]")

    @staticmethod
    def record(schedule, stages, seed, scratch, seconds, embed):
        alpha = {"embed": [0.5, 0.5], "layers": [0.5, 0.5], "heads": [[0.5, 0.5]],
                 "mlp_ratio": [[0.5, 0.5]]}
        stage = {"model_stage": 0, "rank": 0, "max_drift": 1, "drift_bound": 1,
                 "max_live_weight_versions": 1, "max_weight_drift": 1,
                 "max_architecture_drift": 0}
        return {"study": "search", "kind": "nas_pipeline", "status": "ok",
                "params": {"optimizer": "drnas", "schedule": schedule, "stages": stages,
                           "microbatches": 4, "micro_batch_size": 4, "accumulation": 4,
                           "chunks": 1, "seed": seed, "steps": 3, "retrain_steps": 0,
                           "gdas_temperature": 1.0, "storage": "entangled",
                           "preset": {"name": "pipebench",
                                      "weights": {"learning_rate": 1e-3, "warmup_steps": 10},
                                      "architecture": {"learning_rate": 3e-4}}},
                "result": {"unigram_val_loss": 3.3, "final_validation_loss": 3.0,
                           "alpha": alpha,
                           "summary": {"schema_version": make_report.SUMMARY_SCHEMA_VERSION,
                                       "simulated": {"seconds": seconds,
                                                     "tokens_per_second": 100 / seconds},
                                       "model_stages": [stage]},
                           "derived": [{"architecture": {"embed": embed, "layers": 1,
                                                         "heads": [2], "mlp_ratio": [2]},
                                        "parameters": 1000, "val_loss_inherited": 3.1,
                                        "val_loss_finetuned": None,
                                        "val_loss_scratch": scratch}]}}

    def test_a_study_without_retraining_renders(self):
        with tempfile.TemporaryDirectory() as out:
            config = {"experiment": "x", "studies": [
                {"name": "search", "kind": "nas", "pipelines": [{}]}]}
            with open(os.path.join(out, "manifest.json"), "w") as f:
                json.dump({"config": config}, f)
            records = [self.record("1f1b_flush", 1, 0, None, 4.0, 24),
                       self.record("1f1b_flush", 4, 0, None, 2.0, 24),
                       self.record("paci", 4, 0, None, 1.0, 48)]
            with open(os.path.join(out, "results.jsonl"), "w") as f:
                f.write("\n".join(json.dumps(r) for r in records) + "\n")
            make_report.Report(out).write()
            with open(os.path.join(out, "report.md")) as f:
                report = f.read()
        self.assertIn("| drnas | paci p=4 m=4 a=4 | 0 of 1 |", report)
        self.assertIn("| drnas | 1f1b_flush p=4 m=4 | 1 of 1 |", report)
        self.assertIn("2.00x", report)  # PACI over 1F1B-flush on the same stages
        self.assertIn("paci p=4 m=4 a=4: the one-stage search's architecture in 0 of 1 seeds.",
                      report)


def eval_curve(losses, every=100, seconds_per_step=1.0):
    """A training curve evaluated every `every` steps with these validation losses."""
    return [{"step": (i + 1) * every, "sim_time": (i + 1) * every * seconds_per_step,
             "val_loss": loss} for i, loss in enumerate(losses)]


class ConvergenceTest(unittest.TestCase):
    FLUSH = eval_curve([4.0, 3.0, 2.5, 2.2, 2.1, 2.0, 1.99, 1.985, 1.98, 1.98])

    def test_values_between_evaluations_are_interpolated(self):
        self.assertAlmostEqual(report_convergence.value_at(self.FLUSH, 150), 3.5)
        self.assertAlmostEqual(report_convergence.value_at(self.FLUSH, 1000), 1.98)
        self.assertIsNone(report_convergence.value_at(self.FLUSH, 50))
        self.assertIsNone(report_convergence.value_at(self.FLUSH, 1001))
        self.assertAlmostEqual(report_convergence.flush_target(self.FLUSH, 0.25), 2.75)

    def test_the_plateau_is_the_fall_over_the_last_500_steps(self):
        # 2.1 at step 500 -> 1.98 at step 1000: 5.7%, still falling; a flat tail: 0.
        self.assertAlmostEqual(report_convergence.final_fall(self.FLUSH), 0.12 / 2.1)
        flat = eval_curve([3.0] * 10)
        self.assertEqual(report_convergence.final_fall(flat), 0.0)
        self.assertIsNone(report_convergence.final_fall(eval_curve([3.0, 2.0])))

    def test_the_equal_step_gap_is_relative_to_flush_at_the_same_step(self):
        slower = eval_curve([4.4, 3.3, 2.75, 2.42, 2.31, 2.2, 2.189, 2.1835, 2.178, 2.178])
        for fraction in (0.1, 0.5, 1.0):
            self.assertAlmostEqual(
                report_convergence.equal_step_gap(slower, self.FLUSH, fraction), 0.1)

    def test_the_report_tabulates_gaps_and_targets_and_counts_misses(self):
        # PACI trails by a constant 10% at equal steps but runs twice as fast: it reaches flush's
        # loss at 25% of its run (2.75) in 1.5x its steps - steps ratio 250/~341 - and never
        # reaches flush's final loss.
        paci = eval_curve([4.4, 3.3, 2.75, 2.42, 2.31, 2.2, 2.189, 2.1835, 2.178, 2.178],
                          seconds_per_step=0.5)
        with tempfile.TemporaryDirectory() as out:
            config = {"experiment": "x", "studies": [
                {"name": "conv", "kind": "training", "steps": 1000,
                 "convergence_fractions": [0.25, 1.0]}]}
            with open(os.path.join(out, "manifest.json"), "w") as f:
                json.dump({"config": config}, f)
            records = []
            for seed in (0, 1):
                for variant, curve, synchronous in (("1f1b_flush", self.FLUSH, True),
                                                    ("paci", paci, False)):
                    records.append({
                        "study": "conv", "kind": "training", "status": "ok",
                        "params": {"variant": variant, "schedule": variant, "stages": 2,
                                   "microbatches": 2, "seed": seed, "micro_batch_size": 2,
                                   "model": "layers=2,embed=8,heads=2,context=4", "lr": 1e-3,
                                   "steps": 1000},
                        "result": {"curve": curve, "summary": {
                            "schema_version": make_report.SUMMARY_SCHEMA_VERSION,
                            "synchronous": synchronous, "final_val_loss": curve[-1]["val_loss"],
                            "simulated": {"seconds": curve[-1]["sim_time"],
                                          "tokens_per_second": 8000 / curve[-1]["sim_time"]},
                            "model_stages": []}}})
            with open(os.path.join(out, "results.jsonl"), "w") as f:
                f.write("\n".join(json.dumps(r) for r in records) + "\n")
            make_report.Report(out).write()
            with open(os.path.join(out, "report.md")) as f:
                report = f.read()
            self.assertTrue(os.path.exists(os.path.join(out, "plots",
                                                        "conv_convergence_p2_m2.png")))
        self.assertIn("fell 5.71 ± 0.00% over its last 500 steps: still falling", report)
        self.assertIn("| paci | 10.0 ± 0.0% | 10.0 ± 0.0% | 10.0 ± 0.0% | 10.0 ± 0.0% | "
                      "10.0 ± 0.0% |", report)
        # 2.75 is reached at step 300 by PACI against 250 for flush: 0.83x the steps, 1.67x the
        # speed on a clock twice as fast.
        self.assertIn("| paci | 1f1b_flush at 25% | 2.750 ± 0.000 | 0.83 ± 0.00x | "
                      "1.67 ± 0.00x |", report)
        self.assertIn("| paci | 1f1b_flush at 100% | 1.980 ± 0.000 | - (not reached in 2 of 2) "
                      "| - (not reached in 2 of 2) |", report)


if __name__ == "__main__":
    unittest.main()
