"""Both example drivers pass every suite through the `cmd:` adapter, with no warning."""

from __future__ import annotations

import sys

import pytest

from harness.conformance.results import Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover
from tests.meta.node_driver import node_driver_command
from tests.paths import ROOT


@pytest.mark.parametrize("language", ["python", "node"])
async def test_an_example_driver_passes_every_suite(language: str) -> None:
    command = f"{sys.executable} {ROOT / 'examples' / 'python_driver.py'}" if language == "python" else None
    agent = f"cmd:{command or node_driver_command()}"
    result = await run(RunSettings(agent=agent, seed=1), discover())
    assert [(s.scenario, s.error) for s in result.scenarios if s.error] == []
    not_passed = [
        f"{s.scenario}:{c.id} {c.status} {c.measured} {c.details}"
        for s in result.scenarios
        for c in s.checks
        if c.status is not Status.SUCCESS and c.status is not Status.SKIPPED
    ]
    assert not_passed == []
    assert result.passed
