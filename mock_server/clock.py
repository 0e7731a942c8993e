"""Scenario time: the one clock every duration and timestamp of a run goes through.

A time scale below 1 makes scenario seconds pass faster than real ones, so that
queue times, token pacing and cursor ages shrink together (0.01: 100 scenario
seconds take 1 real second). A conformance run makes one and hands it to the mock, the caller,
the agent's environment and its pollers (it has the two methods of `harness.client.Clock`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClockAnchor:
    """Where a clock started, in real and in scenario time: enough for a later process to carry it on."""

    real: float
    """Real epoch seconds when the clock started."""
    scenario: float
    """Its scenario time then."""
    time_scale: float

    def scenario_time_at(self, real: float) -> float:
        """The clock's scenario time at real time `real`, had it kept running (never before it started)."""
        return self.scenario + max(0.0, real - self.real) / self.time_scale


class Clock:
    """Scenario seconds since the Unix epoch, advancing at 1/time_scale real speed.

    `start` sets the scenario time now (by default, the real time now): a restarted server carries
    on from where its clock had got to, which at a time scale below 1 runs ahead of real time.
    """

    def __init__(self, time_scale: float = 1.0, start: float | None = None) -> None:
        if not time_scale > 0:
            raise ValueError(f"time scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self._real_origin = time.time()
        self._wall_origin = self._real_origin if start is None else start
        self._mono_origin = time.monotonic()

    @property
    def anchor(self) -> ClockAnchor:
        return ClockAnchor(self._real_origin, self._wall_origin, self.time_scale)

    def now(self) -> float:
        """Current scenario time (epoch seconds)."""
        return self._wall_origin + (time.monotonic() - self._mono_origin) / self.time_scale

    def real_seconds(self, scenario_seconds: float) -> float:
        """How long a span of scenario time lasts in real time."""
        return max(0.0, scenario_seconds * self.time_scale)

    def scenario_seconds(self, real_seconds: float) -> float:
        """How much scenario time a span of real time is."""
        return real_seconds / self.time_scale

    async def sleep(self, scenario_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(scenario_seconds))

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(self.real_seconds(deadline - self.now()))
