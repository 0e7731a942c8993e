"""What every human-readable report shows the same way: symbols, the check columns, the findings.

Only lookups over the result model: statuses and verdicts were decided before a report is written.
"""

from __future__ import annotations

from harness.conformance.results import CheckResult, RunResult, ScenarioResult, Status

STATUS_SYMBOLS: dict[Status, str] = {
    Status.SUCCESS: "✓",
    Status.FAILURE: "✗",
    Status.WARNING: "⚠",
    Status.SKIPPED: "○",
    Status.UNKNOWN: "?",
}
EXPECTED_FAILURE_MARK = "*"
"""Appended to the symbol of a check listed in the expected-failures baseline."""
FINDING_STATUSES = (Status.FAILURE, Status.WARNING, Status.UNKNOWN)
"""Statuses that get a section of their own: something a reader has to look at."""
SYMBOL_LEGEND = "✓ success · ✗ failure (MUST) · ⚠ warning (SHOULD) · ○ skipped · ? unknown · * expected failure"


def verdict(result: RunResult) -> str:
    return "PASS" if result.passed else "FAIL"


def symbol(check: CheckResult) -> str:
    return STATUS_SYMBOLS[check.status] + (EXPECTED_FAILURE_MARK if check.expected_failure else "")


def scenario_outcome(scenario: ScenarioResult) -> str:
    if scenario.error is not None:
        return "error"
    return "fail" if scenario.failed else "pass"


def check_columns(result: RunResult) -> list[str]:
    """Every check id that ran, in first-seen order, so the table reads like the suites."""
    columns: dict[str, None] = {}
    for scenario in result.scenarios:
        for check in scenario.checks:
            columns.setdefault(check.id)
    return list(columns)


def check_by_id(scenario: ScenarioResult) -> dict[str, CheckResult]:
    return {check.id: check for check in scenario.checks}


def findings(result: RunResult) -> list[tuple[ScenarioResult, CheckResult]]:
    return [
        (scenario, check)
        for scenario in result.scenarios
        for check in scenario.checks
        if check.status in FINDING_STATUSES
    ]


def counts_line(result: RunResult) -> str:
    return " · ".join(f"{count} {status}" for status, count in result.counts().items())


def scenarios_line(result: RunResult) -> str:
    failed = sum(scenario.failed and scenario.error is None for scenario in result.scenarios)
    errors = sum(scenario.error is not None for scenario in result.scenarios)
    return f"{len(result.scenarios)} run · {failed} failed · {errors} not judged (harness error)"
