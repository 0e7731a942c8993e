"""The one result model every report renders: per scenario, per check, with evidence and a replay command."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.conformance.history import History

RESULTS_VERSION = 1


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


class Status(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    """A MUST rule was broken."""
    WARNING = "WARNING"
    """A SHOULD rule was broken."""
    SKIPPED = "SKIPPED"
    """The agent cannot do what the check needs."""
    UNKNOWN = "UNKNOWN"
    """The history does not decide the rule either way."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    """The rule's id in CONTRACT.md section 1 (kebab-case)."""
    level: Level
    status: Status
    rule: str
    """The rule, in one sentence."""
    expected: str
    measured: str
    details: str = ""
    evidence: tuple[str, ...] = ()
    """Lines quoted from the history that show the verdict."""
    expected_failure: bool = False
    """Listed in the expected-failures baseline."""


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: str
    suite: str
    description: str
    agent: str
    seed: int
    reproduce: str
    """A command that replays exactly this scenario."""
    duration_seconds: float
    checks: tuple[CheckResult, ...]
    history: History | None
    error: str | None = None
    """The harness could not run the scenario (not an agent failure)."""

    @property
    def failed(self) -> bool:
        return self.error is not None or any(
            check.status is Status.FAILURE and not check.expected_failure for check in self.checks
        )


@dataclass(frozen=True, slots=True)
class RunResult:
    agent: str
    seed: int
    time_scale: float
    started_at: str
    """ISO 8601, UTC."""
    scenarios: tuple[ScenarioResult, ...]
    stale_expected_failures: tuple[str, ...] = ()
    """Baseline entries (scenario:check) that passed: the baseline must be updated."""
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = RESULTS_VERSION

    @property
    def passed(self) -> bool:
        return not self.stale_expected_failures and not any(result.failed for result in self.scenarios)

    def counts(self) -> dict[str, int]:
        totals = {status.value: 0 for status in Status}
        for result in self.scenarios:
            for check in result.checks:
                totals[check.status.value] += 1
        return totals

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["passed"] = self.passed
        data["counts"] = self.counts()
        return data
