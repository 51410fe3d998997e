#!/usr/bin/env python3
"""count_test_results.py on hand-made Bazel logs and test.xml files."""
import os
import pathlib
import sys
import tempfile
import time
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import count_test_results  # noqa: E402

XML = """<?xml version="1.0"?><testsuites><testsuite>{}</testsuite></testsuites>"""


def case(name, failed=False, attributes="", body=""):
    return (f'<testcase classname="T" name="{name}" {attributes}>' +
            ("<failure/>" if failed else "") + body + "</testcase>")


class CountTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.logs = pathlib.Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def write_xml(self, target, cases, age_seconds=0):
        path = self.logs / target.lstrip("/").replace(":", "/") / "test.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(XML.format("".join(cases)))
        if age_seconds:
            stamp = time.time() - age_seconds
            os.utime(path, (stamp, stamp))

    def test_counts_cases_from_xml_and_ci_checks_as_one(self):
        self.write_xml("//a:a_test", [case("x"), case("y")])
        log = ["INFO: Found 3 targets and 2 test targets...",
               "//a:a_test   PASSED in 1.0s", "//b:b_test   (cached) PASSED in 0.1s",
               "//ci:smoke_speedup_gate PASSED", "//ci:asan_suite PASSED",
               "//ci:fuzz_smoke FAILED"]
        self.assertEqual(count_test_results.count(log, self.logs),
                         (5, 1, 0, ["//ci:fuzz_smoke FAILED"]))

    def test_ci_checks_do_not_stand_in_for_missing_bazel_targets(self):
        log = ["INFO: Found 2 targets and 2 test targets...", "//a:a_test   PASSED in 1.0s",
               "//ci:smoke_speedup_gate PASSED", "//ci:asan_suite PASSED"]
        passed, failed, _, _ = count_test_results.count(log, self.logs)
        self.assertEqual((passed, failed), (3, 1))

    def test_a_failed_case_and_a_target_that_did_not_build(self):
        self.write_xml("//a:a_test", [case("x"), case("y", failed=True)])
        log = ["Found 2 targets and 2 test targets...", "//a:a_test FAILED in 1s",
               "//b:b_test FAILED TO BUILD"]
        passed, failed, _, names = count_test_results.count(log, self.logs)
        self.assertEqual((passed, failed), (1, 2))
        self.assertEqual(names, ["//a:a_test T.y", "//b:b_test FAILED TO BUILD"])

    def test_bazel_dying_before_its_summary_fails(self):
        log = ["INFO: Analyzed 40 targets", "FATAL: bazel crashed", "//ci:smoke_speedup_gate PASSED"]
        passed, failed, _, names = count_test_results.count(log, self.logs)
        self.assertEqual((passed, failed), (1, 1))
        self.assertIn("did not run", names[0])

    def test_a_summary_short_of_targets_fails(self):
        log = ["Found 5 targets and 3 test targets...", "//a:a_test PASSED in 1s"]
        passed, failed, _, names = count_test_results.count(log, self.logs)
        self.assertEqual((passed, failed), (1, 2))
        self.assertIn("2 of 3 test targets reported no status", names[0])

    def test_a_stale_xml_of_a_target_that_failed_to_build_is_not_read(self):
        # An earlier run's five passing cases must not count for a target that did not build now.
        self.write_xml("//a:a_test", [case(str(i)) for i in range(5)], age_seconds=3600)
        log = ["Found 1 target and 1 test target...", "//a:a_test FAILED TO BUILD"]
        since = time.time() - 60
        self.assertEqual(count_test_results.count(log, self.logs, since)[:2], (0, 1))
        # Without --since the same file is read, so the check above really depends on its age.
        self.assertEqual(count_test_results.count(log, self.logs)[:2], (5, 1))

    def test_a_skipped_target_counts_as_skipped(self):
        log = ["Found 2 targets and 2 test targets...", "//a:a_test PASSED in 1s",
               "//gpu:cuda_test SKIPPED"]
        self.assertEqual(count_test_results.count(log, self.logs), (1, 0, 1, []))

    def test_skipped_cases_are_never_passed(self):
        # gtest's GTEST_SKIP, a disabled case, and a shell test's own XML (engine/testing/skip.sh).
        self.write_xml("//a:gpu_test", [case("ran"),
                                        case("skip", attributes='status="run" result="skipped"',
                                             body='<skipped message="no GPU"/>'),
                                        case("DISABLED_x", attributes='status="notrun"')])
        self.write_xml("//b:two_host_test", [case("two_host_test", body="<skipped/>")])
        log = ["Found 2 targets and 2 test targets...", "//a:gpu_test PASSED in 1s",
               "//b:two_host_test PASSED in 1s"]
        self.assertEqual(count_test_results.count(log, self.logs), (1, 0, 3, []))
        self.assertEqual(count_test_results.closing_line(1, 0, 3), "1 passed, 0 failed, 3 skipped")
        self.assertEqual(count_test_results.closing_line(4, 0, 0), "4 passed, 0 failed")

    def test_a_cached_result_reads_its_xml_whatever_its_age(self):
        self.write_xml("//a:a_test", [case(str(i)) for i in range(3)], age_seconds=3600)
        since = time.time() - 60
        log = ["Found 1 target and 1 test target...", "//a:a_test   (cached) PASSED in 0.1s"]
        self.assertEqual(count_test_results.count(log, self.logs, since)[:2], (3, 0))
        # The same file for a result of this run is stale: one passed target, cases unread.
        log = ["Found 1 target and 1 test target...", "//a:a_test   PASSED in 0.1s"]
        self.assertEqual(count_test_results.count(log, self.logs, since)[:2], (1, 0))

    def test_a_phase_that_ran_out_of_time_fails(self):
        log = ["Found 1 target and 1 test target...", "//a:a_test PASSED in 1s",
               "//ci:timeout_asan_suite FAILED"]
        self.assertEqual(count_test_results.count(log, self.logs),
                         (1, 1, 0, ["//ci:timeout_asan_suite FAILED"]))

    def test_nothing_run_exits_1(self):
        path = self.logs / "log.txt"
        path.write_text("Found 0 targets and 0 test targets...\n")
        self.assertEqual(count_test_results.main(["count", str(path), str(self.logs)]), 1)


if __name__ == "__main__":
    unittest.main()
