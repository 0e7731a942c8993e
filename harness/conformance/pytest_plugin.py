"""The suites as pytest items: an agent's own repository runs bgr's suites from its pytest.

    pytest --bgr-agent "cmd:node driver.js" --bgr-suite core -m must

Each (scenario, check) becomes a test item marked `must` or `should`. A MUST failure fails
the item with the expected and measured values, the evidence and the replay command; a
SHOULD failure passes with a warning; checks that do not apply are skipped. Each scenario
runs once, the first time one of its items runs. The plugin's entry point is `pytest_bgr`,
which imports this module only when `--bgr-agent` is given.

Under pytest-xdist every worker collects the same items and runs the scenarios of the items it
is given, each on a mock of its own. The items of one scenario carry one `xdist_group`, so that
`-n N --dist loadgroup` runs each scenario once, on one worker.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from harness.conformance.results import CheckResult, Level, ScenarioResult, Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import ConformanceScenario, discover, script_of


class BgrWarning(UserWarning):
    """A SHOULD rule of the background-responses contract was broken."""


class CheckFailed(Exception):
    pass


def add_conformance_items(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The suites as items, for `pytest_bgr` once `--bgr-agent` is given."""
    agent = config.getoption("--bgr-agent")
    suites = set(config.getoption("--bgr-suite"))
    scenarios = [scenario for scenario in discover() if not suites or scenario.suite in suites]
    if not scenarios:
        raise pytest.UsageError(f"--bgr-suite {sorted(suites)} selects no scenario")
    settings = RunSettings(
        agent, config.getoption("--bgr-seed"), config.getoption("--bgr-time-scale"), config.getoption("--bgr-base-url")
    )
    collector = BgrCollector.from_parent(session, name=f"bgr[{agent}]", settings=settings, scenarios=scenarios)
    new_items = list(collector.collect())
    # -m must / -m should filter these like any other items.
    deselected = [item for item in new_items if not _selected(item, config)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items.extend(item for item in new_items if item not in deselected)


def _selected(item: pytest.Item, config: pytest.Config) -> bool:
    expression = config.getoption("-m")
    if not expression:
        return True
    from _pytest.mark.expression import Expression

    names = {mark.name for mark in item.iter_markers()}
    return Expression.compile(expression).evaluate(lambda name: name in names)


class BgrCollector(pytest.Collector):
    def __init__(self, *, settings: RunSettings, scenarios: list[ConformanceScenario], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.scenarios = scenarios
        self._results: dict[str, ScenarioResult] = {}

    def collect(self) -> Iterator[pytest.Item]:
        from harness.conformance.checks import CHECKS

        for scenario in self.scenarios:
            for check_id in script_of(scenario).checks:
                item = BgrCheckItem.from_parent(self, name=f"{scenario.suite}/{scenario.id}::{check_id}")
                item.scenario, item.check_id = scenario, check_id
                item.add_marker("must" if CHECKS[check_id].level is Level.MUST else "should")
                item.add_marker(pytest.mark.xdist_group(f"bgr-{scenario.id}"))
                yield item

    def result_for(self, scenario: ConformanceScenario) -> ScenarioResult:
        key = str(scenario.id)
        if key not in self._results:
            self._results[key] = asyncio.run(run(self.settings, [scenario])).scenarios[0]
        return self._results[key]


class BgrCheckItem(pytest.Item):
    scenario: ConformanceScenario
    check_id: str

    def runtest(self) -> None:
        assert isinstance(self.parent, BgrCollector)
        result = self.parent.result_for(self.scenario)
        if result.error is not None:
            raise CheckFailed(f"the scenario could not run: {result.error}\nreplay: {result.reproduce}")
        check = next(check for check in result.checks if check.id == self.check_id)
        if check.status is Status.FAILURE:
            raise CheckFailed(_explain(check, result))
        if check.status is Status.WARNING:
            warnings.warn(BgrWarning(f"{self.scenario.id}:{check.id}: {check.measured}"), stacklevel=1)
        elif check.status in (Status.SKIPPED, Status.UNKNOWN):
            pytest.skip(f"{check.status.value}: {check.details or check.measured}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.scenario.path, None, f"bgr {self.name}"


def _explain(check: CheckResult, result: ScenarioResult) -> str:
    lines = [
        f"{check.id} ({check.level.value}): {check.rule}",
        f"  expected: {check.expected}",
        f"  measured: {check.measured}",
    ]
    if check.details:
        lines.append(f"  details:  {check.details}")
    lines += [f"  | {line}" for line in check.evidence[:12]]
    lines.append(f"  replay:   {result.reproduce}")
    return "\n".join(lines)
