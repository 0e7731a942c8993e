"""A clock that never waits, for tests of the client library's timing: each sleep is recorded and moves it on."""

from __future__ import annotations


class VirtualClock:
    time_scale = 1.0

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []
        """Every sleep asked for, in the poller's seconds."""

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
