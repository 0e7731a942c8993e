"""The compatibility matrix: published runs down, contract rules across, one verdict per cell.

A model made from the published `results.json` files alone (plain JSON, histories not needed), so it
is rebuilt by one command whenever a report is published again or a rule is added. Renderers
(`matrix_markdown.py`, `matrix_html.py`) draw it and decide nothing.

A cell sums one rule over every scenario of a run that judged it: `fail` if a MUST check failed in
any of them, `warn` if a SHOULD check warned, `pass` if it held wherever it was decided, `unknown`
if no scenario could decide it, `skipped` if the agent could not do what it needs, `not run` if no
published scenario checks it (a rule newer than the report). A harness error in a scenario counts
as a failure of its run's row, since nothing there was judged.

The level follows the MCP SDK tiers: level 1, every MUST rule passes; level 2, most of them (more
than half of the MUST rules the run decided); level 3, few.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.conformance.checks import CHECKS
from harness.conformance.reports.html import scenario_anchor

RESULTS_FILE = "results.json"
REFERENCE_AGENT = "openai"
"""The yardstick's row comes first."""


class Cell(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    NOT_RUN = "not run"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: str
    """MUST or SHOULD."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule for one run: its cell, how many scenarios judged it, and where the evidence is."""

    cell: Cell
    failing: int
    judged: int
    evidence: str
    """A link relative to the matrix page: the report's section on the first scenario that failed or warned."""
    summary: str
    """The report's markdown summary, relative to the matrix page."""


@dataclass(frozen=True, slots=True)
class Row:
    directory: str
    """The report's folder under the reports directory."""
    agent: str
    versions: dict[str, str]
    passed: bool
    verdicts: dict[str, Verdict]
    errors: int
    """Scenarios the harness could not run."""
    scenarios: int

    @property
    def musts_decided(self) -> int:
        return sum(1 for rule_id, verdict in self.verdicts.items() if _is_must(rule_id) and _decided(verdict.cell))

    @property
    def musts_passing(self) -> int:
        return sum(1 for rule_id, verdict in self.verdicts.items() if _is_must(rule_id) and verdict.cell is Cell.PASS)

    @property
    def level(self) -> int:
        """1: every MUST rule passes (and every scenario ran); 2: more than half of them; 3: half or fewer."""
        if self.errors == 0 and self.musts_decided and self.musts_passing == self.musts_decided:
            return 1
        return 2 if self.musts_passing * 2 > self.musts_decided else 3


@dataclass(frozen=True, slots=True)
class Matrix:
    rules: tuple[Rule, ...]
    rows: tuple[Row, ...]


LEVELS = {
    1: "every MUST rule passes",
    2: "most MUST rules pass",
    3: "few MUST rules pass",
}


def _is_must(rule_id: str) -> bool:
    check = CHECKS.get(rule_id)
    return check is not None and check.level.value == "MUST"


def _decided(cell: Cell) -> bool:
    return cell in (Cell.PASS, Cell.FAIL, Cell.WARN)


def load_matrix(reports: Path) -> Matrix:
    """Every `reports/<dir>/results.json`, the reference agent's first, then by folder name."""
    rows = [row_of(path.parent.name, json.loads(path.read_text(encoding="utf-8"))) for path in _results(reports)]
    rows.sort(key=lambda row: (row.agent != REFERENCE_AGENT, row.directory))
    seen = {rule_id for row in rows for rule_id in row.verdicts}
    rules = [Rule(check.id, check.level.value) for check in CHECKS.values()]
    rules += [Rule(rule_id, "?") for rule_id in sorted(seen - set(CHECKS))]
    rules.sort(key=lambda rule: rule.level != "MUST")  # stable: MUST rules first, each group in registry order
    filled = tuple(_fill(row, rules) for row in rows)
    return Matrix(tuple(rules), filled)


def _results(reports: Path) -> list[Path]:
    return sorted(path for path in reports.glob(f"*/{RESULTS_FILE}") if path.is_file())


def row_of(directory: str, result: dict[str, Any]) -> Row:
    """One run's row from its results.json (version 1 of the result model)."""
    if result.get("version") != 1:
        raise ValueError(f"{directory}/{RESULTS_FILE}: result model version {result.get('version')!r}, expected 1")
    by_rule: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for position, scenario in enumerate(result["scenarios"]):
        for check in scenario["checks"]:
            by_rule.setdefault(check["id"], []).append((position, scenario["scenario"], check))
    verdicts = {rule_id: _verdict(directory, checks) for rule_id, checks in by_rule.items()}
    extra = result.get("extra") or {}
    return Row(
        directory=directory,
        agent=str(result["agent"]),
        versions=dict(extra.get("versions") or {}),
        passed=bool(result["passed"]),
        verdicts=verdicts,
        errors=sum(1 for scenario in result["scenarios"] if scenario.get("error")),
        scenarios=len(result["scenarios"]),
    )


def _verdict(directory: str, checks: list[tuple[int, str, dict[str, Any]]]) -> Verdict:
    statuses = [check["status"] for _, _, check in checks]
    bad = [(position, scenario) for position, scenario, check in checks if check["status"] in ("FAILURE", "WARNING")]
    if "FAILURE" in statuses:
        cell = Cell.FAIL
    elif "WARNING" in statuses:
        cell = Cell.WARN
    elif "SUCCESS" in statuses:
        cell = Cell.PASS
    elif "UNKNOWN" in statuses:
        cell = Cell.UNKNOWN
    else:
        cell = Cell.SKIPPED
    judged = sum(1 for status in statuses if status in ("SUCCESS", "FAILURE", "WARNING"))
    anchor = f"#{scenario_anchor(*bad[0])}" if bad else ""
    return Verdict(cell, len(bad), judged, f"{directory}/report.html{anchor}", f"{directory}/summary.md")


def _fill(row: Row, rules: list[Rule]) -> Row:
    """Every rule gets a cell; those no scenario of the run checks are `not run`."""
    missing = Verdict(Cell.NOT_RUN, 0, 0, f"{row.directory}/report.html", f"{row.directory}/summary.md")
    verdicts = {rule.id: row.verdicts.get(rule.id, missing) for rule in rules}
    return Row(row.directory, row.agent, row.versions, row.passed, verdicts, row.errors, row.scenarios)
