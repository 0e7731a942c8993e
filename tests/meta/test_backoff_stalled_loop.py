"""A correct poller is not blamed for a loop the machine held up, and a broken one is not excused by it.

The run's loop is held with work that never yields for 0.4 real seconds (20 scenario seconds at the
default time scale, past the slack of a capped wait) from just before a poll is due, as a module read from
a cold disk once held it in a first run. The reference poller's poll comes that much late, and the
run's stall probe must have measured why; a fixed-interval poller under the same stall is still caught.
"""

from __future__ import annotations

import asyncio
import contextlib

from harness.conformance.adapters.base import AgentReply
from harness.conformance.adapters.openai_agent import OpenAIAgent
from harness.conformance.results import Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover
from tests import broken_agents
from tests.held_loop import hold_the_loop

HOLD_REAL_SECONDS = 0.4
HOLD_FROM_SCENARIO_SECONDS = 1.0 + 2.0 + 4.0 + 8.0 + 16.0 + 30.0 - 0.5
"""Half a scenario second before the reference poller's sixth poll is due, its first after a capped wait."""
SCENARIOS = ("stream-to-completion", "three-capped-polls")
"""Played one after the other: the first pays the agent's one-time costs, which would otherwise count as its
dispatch latency in the timed one and widen its slack."""


class StallsTheLoop:
    """Mixed into an agent: while it polls on its own, the loop is held once, where its sixth poll is due."""

    async def poll_until_done(self, token: str, *, max_polls: int, deadline_seconds: float | None) -> AgentReply:
        clock = self._environment.clock  # type: ignore[attr-defined]

        async def stall() -> None:
            await clock.sleep(HOLD_FROM_SCENARIO_SECONDS)
            hold_the_loop(HOLD_REAL_SECONDS)

        task = asyncio.create_task(stall())
        try:
            return await super().poll_until_done(  # type: ignore[misc]
                token, max_polls=max_polls, deadline_seconds=deadline_seconds
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class StalledReference(StallsTheLoop, OpenAIAgent):
    name = "reference-on-a-stalled-loop"


class StalledFixedInterval(StallsTheLoop, broken_agents.FixedIntervalPoller):
    name = "fixed-interval-on-a-stalled-loop"


def backoff_of(result) -> tuple[Status, str]:
    (check,) = [c for s in result.scenarios for c in s.checks if c.id == "backoff"]
    return check.status, check.measured


async def test_a_correct_poller_late_only_by_a_stalled_loop_passes() -> None:
    scenarios = [s for s in discover() if s.id in SCENARIOS]
    result = await run(RunSettings(agent=StalledReference.name, seed=1), scenarios, adapter_factory=StalledReference)
    status, measured = backoff_of(result)
    # The poll was late past its slack (else the excuse is not in the verdict) and the probe measured why.
    assert "late by no more than the run's event loop stood still" in measured
    assert status is Status.SUCCESS, measured


async def test_a_fixed_interval_poller_is_still_caught_on_a_stalled_loop() -> None:
    scenarios = [s for s in discover() if s.id in SCENARIOS]
    result = await run(
        RunSettings(agent=StalledFixedInterval.name, seed=1), scenarios, adapter_factory=StalledFixedInterval
    )
    status, measured = backoff_of(result)
    assert status is Status.WARNING, measured
