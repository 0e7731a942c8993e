"""Scenario time: the one clock every duration and timestamp of a run goes through.

A time scale below 1 makes scenario seconds pass faster than real ones, so that
queue times, token pacing and cursor ages shrink together (0.01: 100 scenario
seconds take 1 real second). A conformance run makes one and hands it to the mock, the caller,
the agent's environment and its pollers (it has the two methods of `harness.client.Clock`).
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    """Scenario seconds since the Unix epoch, advancing at 1/time_scale real speed."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self._wall_origin = time.time()
        self._mono_origin = time.monotonic()

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
