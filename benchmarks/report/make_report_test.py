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


if __name__ == "__main__":
    unittest.main()
