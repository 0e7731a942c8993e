"""`junit.xml`: one testcase per (scenario, check), so CI shows conformance like any test run.

Mapping: FAILURE is a <failure>; WARNING passes with a note; SKIPPED and UNKNOWN are <skipped>;
a baselined failure is <skipped> too; a harness error is an <error>; a stale baseline entry fails.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from harness.conformance.results import CheckResult, RunResult, ScenarioResult, Status

FILE_NAME = "junit.xml"
BASELINE_SUITE = "expected-failures"
# Characters XML 1.0 cannot carry at all, even escaped; agents' text may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _failure_text(scenario: ScenarioResult, check: CheckResult) -> str:
    lines = [
        f"{check.id} ({check.level}): {check.rule}",
        f"expected: {check.expected}",
        f"measured: {check.measured}",
    ]
    if check.details:
        lines.append(f"details: {check.details}")
    if check.evidence:
        lines.append("evidence:")
        lines.extend(f"  {line}" for line in check.evidence)
    lines.append(f"reproduce: {scenario.reproduce}")
    return _xml_safe("\n".join(lines))


def _child(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: _xml_safe(value) for key, value in attributes.items()})
    if text is not None:
        element.text = _xml_safe(text)
    return element


def _check_case(suite: ET.Element, scenario: ScenarioResult, check: CheckResult, seconds: float) -> None:
    case = _child(
        suite,
        "testcase",
        name=f"{scenario.scenario}::{check.id}",
        classname=f"bgr.{scenario.suite}",
        time=f"{seconds:.3f}",
    )
    text = _failure_text(scenario, check)
    if check.expected_failure and check.status in (Status.FAILURE, Status.WARNING):
        _child(case, "skipped", text, message=f"expected failure: {check.measured}")
    elif check.status is Status.FAILURE:
        _child(case, "failure", text, message=f"{check.id}: expected {check.expected}; measured {check.measured}")
    elif check.status is Status.WARNING:
        properties = _child(case, "properties")
        _child(properties, "property", name="warning", value=f"{check.id}: {check.measured}")
        _child(case, "system-out", f"WARNING (SHOULD rule broken)\n{text}")
    elif check.status in (Status.SKIPPED, Status.UNKNOWN):
        reason = check.details or check.measured
        _child(case, "skipped", text, message=f"{check.status}: {reason}")


def _error_case(suite: ET.Element, scenario: ScenarioResult) -> None:
    case = _child(suite, "testcase", name=f"{scenario.scenario}::run", classname=f"bgr.{scenario.suite}", time="0.000")
    _child(
        case,
        "error",
        f"{scenario.error}\nreproduce: {scenario.reproduce}",
        message=scenario.error or "",
        type="harness",
    )


def _suite_counts(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(case.find(tag) is not None for case in cases)))


def render_junit(result: RunResult) -> bytes:
    root = ET.Element("testsuites", name=f"bgr {result.agent}")
    by_suite: dict[str, list[ScenarioResult]] = defaultdict(list)
    for scenario in result.scenarios:
        by_suite[scenario.suite].append(scenario)
    for name, scenarios in by_suite.items():
        duration = sum(scenario.duration_seconds for scenario in scenarios)
        suite = _child(root, "testsuite", name=name, timestamp=result.started_at, time=f"{duration:.3f}")
        properties = _child(suite, "properties")
        for key, value in (("agent", result.agent), ("seed", str(result.seed)), ("time_scale", str(result.time_scale))):
            _child(properties, "property", name=key, value=value)
        for scenario in scenarios:
            # A scenario's checks judge one recording: its time is shared among them so suite totals add up.
            share = scenario.duration_seconds / max(len(scenario.checks), 1)
            for check in scenario.checks:
                _check_case(suite, scenario, check, share)
            if scenario.error is not None:
                _error_case(suite, scenario)
        _suite_counts(suite)
    if result.stale_expected_failures:
        suite = _child(root, "testsuite", name=BASELINE_SUITE, timestamp=result.started_at, time="0.000")
        for entry in result.stale_expected_failures:
            case = _child(suite, "testcase", name=entry, classname=f"bgr.{BASELINE_SUITE}", time="0.000")
            _child(
                case,
                "failure",
                f"{entry} is listed as an expected failure but did not fail: remove it from the baseline.",
                message=f"stale expected failure: {entry}",
            )
        _suite_counts(suite)
    for attribute in ("tests", "failures", "errors", "skipped"):
        root.set(attribute, str(sum(int(suite.get(attribute, "0")) for suite in root.findall("testsuite"))))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(result: RunResult, directory: Path) -> Path:
    path = directory / FILE_NAME
    path.write_bytes(render_junit(result))
    return path
