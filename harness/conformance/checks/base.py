"""What a check is: a pure function from a history to a verdict, registered under a rule id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.conformance.history import History
from harness.conformance.results import CheckResult, Level, Status


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool | None
    """None: the history cannot decide."""
    expected: str
    measured: str
    details: str = ""
    evidence: tuple[str, ...] = ()


class NotApplicable(Exception):
    """The history holds nothing this check can judge."""


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    level: Level
    rule: str
    judge: Callable[[History], Verdict] = field(repr=False)
    needs: frozenset[str] = frozenset()
    """Script steps without which there is nothing to judge: when the agent could not do one, SKIPPED."""

    def __call__(self, history: History) -> CheckResult:
        stopped = history.stopped
        cannot = f"agent cannot: {stopped.step}: {stopped.reason}" if stopped is not None else None
        if stopped is not None and stopped.step in self.needs:
            return CheckResult(self.id, self.level, Status.SKIPPED, self.rule, "-", "-", cannot or "")
        try:
            verdict = self.judge(history)
        except NotApplicable as reason:
            # When the script stopped early, what is missing is what the agent could not do.
            return CheckResult(self.id, self.level, Status.SKIPPED, self.rule, "-", "-", cannot or str(reason))
        if verdict.passed is None:
            status = Status.UNKNOWN
        elif verdict.passed:
            status = Status.SUCCESS
        else:
            status = Status.FAILURE if self.level is Level.MUST else Status.WARNING
        return CheckResult(
            self.id,
            self.level,
            status,
            self.rule,
            verdict.expected,
            verdict.measured,
            verdict.details,
            verdict.evidence,
        )


CHECKS: dict[str, Check] = {}


def check(
    check_id: str, level: Level, rule: str, *, needs: tuple[str, ...] = ()
) -> Callable[[Callable[[History], Verdict]], Check]:
    def register(judge: Callable[[History], Verdict]) -> Check:
        registered = Check(check_id, level, rule, judge, frozenset(needs))
        CHECKS[check_id] = registered
        return registered

    return register
