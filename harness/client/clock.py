"""Whose seconds a poller counts: real ones in production, scenario ones against a scaled mock.

Every wait and deadline of the client library is in seconds of the `Clock` it is given. The
default is the system's. A test hands in the mock's scaled clock (`mock_server.Clock`), which has
the same two methods, so an hour of backoff passes in a second with no change to the poller.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock; only differences matter."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this many seconds of this clock."""
        ...


class SystemClock:
    """Real time: monotonic, so a change of the wall clock never shortens or stretches a wait."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


SYSTEM_CLOCK = SystemClock()
