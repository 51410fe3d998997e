#!/usr/bin/env python3
"""Turns a `bazel test --test_summary=short` run into the plain closing line CI reads.

Usage: count_test_results.py BAZEL_TEST_OUTPUT [BAZEL_TESTLOGS]

Test cases are counted from the JUnit XML each gtest binary writes under bazel-testlogs; the
per-target status lines of Bazel's summary catch what XML cannot show: a target that crashed,
timed out or failed to build counts as one failed case, so a broken binary never reads as green.
Prints `N passed, N failed`; exits 1 when anything failed or nothing ran.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

STATUS_LINE = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FLAKY|NO STATUS|"
                         r"FAILED TO BUILD|INCOMPLETE|REMOTE FAILURE)\b")


def xml_counts(testlogs: pathlib.Path, target: str):
    path = testlogs / target.lstrip("/").replace(":", "/") / "test.xml"
    if not path.exists():
        return 0, 0, []
    try:
        cases = list(ET.parse(path).getroot().iter("testcase"))
    except ET.ParseError:
        return 0, 0, []
    passed, failed, names = 0, 0, []
    for case in cases:
        if case.get("status") == "notrun":
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            names.append(f"{target} {case.get('classname')}.{case.get('name')}")
        else:
            passed += 1
    return passed, failed, names


def main() -> int:
    output = pathlib.Path(sys.argv[1]).read_text(errors="replace").splitlines()
    testlogs = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "bazel-testlogs").resolve()
    passed = failed = 0
    failures = []
    for line in output:
        match = STATUS_LINE.match(line.strip())
        if not match:
            continue
        target, status = match.groups()
        case_passed, case_failed, names = xml_counts(testlogs, target)
        if status == "PASSED":
            passed += max(case_passed, 1)
            continue
        failed += max(case_failed, 1)
        passed += case_passed
        failures.extend(names or [f"{target} {status}"])
    for name in failures:
        print(f"FAILED: {name}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
