"""No correct poller is flagged on a busy machine, and broken pollers are still caught there.

Correct pollers in Python (the reference agent in-process, the example driver as a `cmd:` program) and
in Node.js (the example driver on the `openai` npm package) run the backoff scenarios of the polling
suite several times while a busy loop keeps another core at work; every backoff verdict must be a
SUCCESS. Broken pollers, run under the same load, must still get their WARNING.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from harness.conformance.adapters.openai_agent import OpenAIAgent
from harness.conformance.results import Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover
from tests import broken_agents
from tests.meta.node_driver import node_driver_command
from tests.paths import ROOT

BACKOFF_SCENARIOS = (
    "self-poll-backoff",
    "three-capped-polls",
    "self-poll-rate-limited",
    "self-poll-server-error",
    "self-poll-paced-by-polls",
)
REPEATS = 3
BUSY_SECONDS = 600
"""The busy loop stops by itself after this long, should the test's own cleanup never run."""
BUSY_LOOP = f"import time\nend = time.monotonic() + {BUSY_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def busy_core() -> Iterator[subprocess.Popen[bytes]]:
    """Another core kept at 100% for the test's duration, stopped in finally."""
    process = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def scenarios(ids: tuple[str, ...]) -> list:
    # Loaded anew for each run: a scenario's rules count their own uses.
    return [scenario for scenario in discover() if scenario.id in ids]


def backoff_verdicts(result) -> list[tuple[str, Status, str]]:
    return [(s.scenario, c.status, c.measured) for s in result.scenarios for c in s.checks if c.id == "backoff"]


async def test_correct_pollers_get_no_warning_on_a_busy_machine(busy_core: subprocess.Popen[bytes]) -> None:
    agents = {
        "python-in-process": None,
        "python-cmd": f"cmd:{sys.executable} {ROOT / 'examples' / 'python_driver.py'}",
        "node-cmd": f"cmd:{node_driver_command()}",
    }
    verdicts = []
    for _ in range(REPEATS):
        for label, agent in agents.items():
            settings = RunSettings(agent=agent or "openai", seed=1)
            factory = OpenAIAgent if agent is None else None
            result = await run(settings, scenarios(BACKOFF_SCENARIOS), adapter_factory=factory)
            assert [s.error for s in result.scenarios if s.error] == []
            verdicts += [(label, *verdict) for verdict in backoff_verdicts(result)]
    assert busy_core.poll() is None, "the busy loop stopped early: the machine was not kept busy"
    assert len(verdicts) == REPEATS * len(agents) * len(BACKOFF_SCENARIOS)
    assert [verdict for verdict in verdicts if verdict[2] is not Status.SUCCESS] == []


@pytest.mark.parametrize(
    ("agent", "scenario"),
    [
        (broken_agents.FixedIntervalPoller, "three-capped-polls"),
        (broken_agents.UncappedPoller, "three-capped-polls"),
        (broken_agents.IgnoresRetryAfter, "self-poll-rate-limited"),
    ],
    ids=lambda value: getattr(value, "name", value),
)
async def test_broken_pollers_are_still_caught_on_a_busy_machine(
    busy_core: subprocess.Popen[bytes], agent, scenario: str
) -> None:
    for _ in range(REPEATS):
        result = await run(RunSettings(agent=agent.name, seed=1), scenarios((scenario,)), adapter_factory=agent)
        assert [status for _, status, _ in backoff_verdicts(result)] == [Status.WARNING]
    assert busy_core.poll() is None
