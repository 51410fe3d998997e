"""Unit tests of the report's arithmetic (run by make_report_test.sh with Debian's python3)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_report  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
