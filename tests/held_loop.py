"""Holding an event loop on purpose, as a module read from a cold disk or a busy machine would."""

from __future__ import annotations

import time


def hold_the_loop(seconds: float) -> None:
    """Busy work on the loop's thread that never yields: nothing else on the loop runs until it ends."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
