"""The event loop's stalls, measured while a run plays: how late the machine alone made every timer.

A correct poller's poll comes late when the loop that wakes it (an in-process agent's) is held up: by the
machine's load, by a module read from a cold disk, by another scenario's work. The timing
checks excuse what this measured in the same run and nothing more, so their verdicts do not turn with the load
while a poller that waits too long is still caught on a quiet loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from harness.conformance.history import Stall
from mock_server.clock import Clock

PERIOD_SECONDS = 0.02
"""Real seconds between the probe's wake-ups: a stall is measured to within this, for ~1% of a core."""
THRESHOLD_SECONDS = 0.002
"""Real lateness of a wake-up below which it is the timer's own jitter, not a stall."""


class StallProbe:
    """Sleeps `PERIOD_SECONDS` at a time on the running loop and records every wake-up that came late."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._stalls: list[Stall] = []

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(PERIOD_SECONDS)
            late = loop.time() - before - PERIOD_SECONDS
            if late > THRESHOLD_SECONDS:
                self._stalls.append(Stall(self.clock.now(), self.clock.scenario_seconds(late)))

    def between(self, start: float, end: float) -> tuple[Stall, ...]:
        """The stalls that overlap scenario times `start` to `end`."""
        return tuple(
            stall for stall in self._stalls if stall.ended_at >= start and stall.ended_at - stall.seconds <= end
        )


@contextlib.asynccontextmanager
async def stall_probe(clock: Clock) -> AsyncIterator[StallProbe]:
    """A probe watching the running loop until the block ends."""
    probe = StallProbe(clock)
    task = asyncio.create_task(probe.watch())
    try:
        yield probe
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
