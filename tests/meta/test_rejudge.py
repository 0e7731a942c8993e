"""Verdicts come from the history alone: histories saved in results.json, judged again, give the same verdicts.

For a run made here (a correct agent, a broken one, and one that cannot do a step) and for the
published reports, so that a report never says what its own evidence does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.conformance.adapters.openai_agent import OpenAIAgent
from harness.conformance.history import History
from harness.conformance.reports import write_reports
from harness.conformance.runner import RunSettings, judge, run
from harness.conformance.scenarios import discover
from tests import broken_agents
from tests.paths import ROOT

PUBLISHED = sorted(ROOT.glob("reports/*/results.json")) + sorted(ROOT.glob("reports/*/*/results.json"))
SCENARIOS = {str(scenario.id): scenario for scenario in discover()}


class WithoutOwnPoller(OpenAIAgent):
    """The reference agent without a poller of its own: the history records the step it could not do."""

    name = "no-own-poller"
    poll_until_done = None  # type: ignore[assignment]


def rejudged(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(scenario, check, recorded status, status judged again) for every check in a results.json."""
    rows = []
    for scenario in data["scenarios"]:
        if scenario["history"] is None:
            continue
        history = History.from_dict(scenario["history"])
        for check in scenario["checks"]:
            again = judge(check["id"], history)
            rows.append((scenario["scenario"], check["id"], check["status"], again.status.value))
            assert again.measured == check["measured"], (scenario["scenario"], check["id"])
    return rows


@pytest.mark.parametrize(
    "factory",
    [
        broken_agents.FailureAsEmptySuccess,
        broken_agents.ResumesFromFirstToken,
        WithoutOwnPoller,
        broken_agents.SurrogateToken,
        broken_agents.NulToken,
    ],
    ids=lambda factory: factory.name,
)
async def test_saved_histories_are_judged_the_same_again(factory, tmp_path: Path) -> None:
    ids = ["stream-cut-and-resume", "failed-ending", "self-poll-backoff", "persist-across-restart-stream"]
    result = await run(RunSettings(factory.name, seed=2), [SCENARIOS[i] for i in ids], adapter_factory=factory)
    write_reports(result, tmp_path)
    rows = rejudged(json.loads((tmp_path / "results.json").read_text(encoding="utf-8")))
    assert len(rows) == sum(len(s.checks) for s in result.scenarios) >= 8
    assert [(s, c, old) for s, c, old, _ in rows] == [
        (s.scenario, c.id, c.status.value) for s in result.scenarios for c in s.checks
    ]
    assert [row for row in rows if row[2] != row[3]] == []


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda path: str(path.relative_to(ROOT)))
def test_published_reports_are_judged_the_same_again(path: Path) -> None:
    rows = rejudged(json.loads(path.read_text(encoding="utf-8")))
    assert rows
    assert [row for row in rows if row[2] != row[3]] == []
