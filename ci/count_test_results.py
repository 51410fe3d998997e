#!/usr/bin/env python3
"""Turns a `bazel test --test_summary=short` run into the plain closing line CI reads.

Usage: count_test_results.py BAZEL_TEST_OUTPUT [BAZEL_TESTLOGS] [--since=UNIX_SECONDS]

Test cases are counted from the JUnit XML each gtest binary writes under bazel-testlogs; the
per-target status lines of Bazel's summary catch what XML cannot show: a target that crashed,
timed out or failed to build counts as one failed case, so a broken binary never reads as green.
Bazel's "Found N targets and M test targets" line says how many status lines must follow: a run
that died before its summary, or a summary short of targets, counts each missing target as failed.
A test.xml older than --since (the start of this test run) is a stale result from an earlier run
and is not read. A "(cached)" result is this code's result from an earlier run (its inputs did not change), so its
XML is read whatever its age. Lines that are not Bazel's (CI's own checks, e.g.
`//ci:smoke_speedup_gate PASSED`) count as one case each and are not among the M.

A case that did not run its subject is counted as skipped, never as passed: a gtest case that called
GTEST_SKIP (result="skipped"), a disabled case (status="notrun"), a shell test that wrote its own
XML with a <skipped/> case (engine/testing/skip.sh), and a target Bazel reports SKIPPED
(incompatible with this platform).
Prints `N passed, N failed` (`, N skipped` when some were); exits 1 when anything failed or
nothing passed.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

# "FAILED TO BUILD" before "FAILED", which would match its first word.
STATUS_LINE = re.compile(r"^(//\S+)\s+(\(cached\)\s+)?(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|FLAKY|"
                         r"NO STATUS|INCOMPLETE|REMOTE FAILURE|SKIPPED)\b")
FOUND_LINE = re.compile(r"Found \d+ targets? and (\d+) test targets?")
# Checks CI appends itself after Bazel's summary (.ci/run); they are not Bazel test targets.
# A phase that ran out of its time appends `//ci:timeout_<phase> FAILED`.
CI_CHECK = re.compile(r"^//ci:(install|build|smoke_speedup_gate|asan_suite|tsan_threaded|"
                      r"fuzz_smoke|timeout_\w+)$")


def skipped_case(case) -> bool:
    return (case.get("status") == "notrun" or case.get("result") == "skipped"
            or case.find("skipped") is not None)


def xml_counts(testlogs: pathlib.Path, target: str, since: float):
    """(passed, failed, skipped, failed case names) from a target's test.xml."""
    path = testlogs / target.lstrip("/").replace(":", "/") / "test.xml"
    if not path.exists() or path.stat().st_mtime < since:
        return 0, 0, 0, []
    try:
        cases = list(ET.parse(path).getroot().iter("testcase"))
    except ET.ParseError:
        return 0, 0, 0, []
    passed, failed, skipped, names = 0, 0, 0, []
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            names.append(f"{target} {case.get('classname')}.{case.get('name')}")
        elif skipped_case(case):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, names


def count(output_lines, testlogs: pathlib.Path, since: float = 0.0):
    """Returns (passed, failed, skipped, failure names) for a Bazel test log."""
    passed = failed = skipped = 0
    failures = []
    expected_targets = None
    reported_targets = set()
    for line in output_lines:
        found = FOUND_LINE.search(line)
        if found:
            expected_targets = int(found.group(1))
        match = STATUS_LINE.match(line.strip())
        if not match:
            continue
        target, cached, status = match.groups()
        if not CI_CHECK.match(target):
            reported_targets.add(target)
        if status == "SKIPPED":  # incompatible with this platform: reported, not run
            skipped += 1
            continue
        case_passed, case_failed, case_skipped, names = xml_counts(
            testlogs, target, 0.0 if cached else since)
        skipped += case_skipped
        if status == "PASSED":
            passed += case_passed if case_passed or case_skipped else 1
            continue
        failed += max(case_failed, 1)
        passed += case_passed
        failures.extend(names or [f"{target} {status}"])
    if expected_targets is None:
        failed += 1
        failures.append("bazel test printed no 'Found ... test targets' line: it did not run")
    elif len(reported_targets) < expected_targets:
        missing = expected_targets - len(reported_targets)
        failed += missing
        failures.append(f"{missing} of {expected_targets} test targets reported no status "
                        "(the run ended before its summary)")
    return passed, failed, skipped, failures


def closing_line(passed: int, failed: int, skipped: int) -> str:
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


def main(argv) -> int:
    args = [a for a in argv[1:] if not a.startswith("--since=")]
    since = next((float(a.split("=", 1)[1]) for a in argv[1:] if a.startswith("--since=")), 0.0)
    output = pathlib.Path(args[0]).read_text(errors="replace").splitlines()
    testlogs = pathlib.Path(args[1] if len(args) > 1 else "bazel-testlogs").resolve()
    passed, failed, skipped, failures = count(output, testlogs, since)
    for name in failures:
        print(f"FAILED: {name}")
    print(closing_line(passed, failed, skipped))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
