"""Exponential backoff between polls and reconnects: the lesson's Demo 3 as a value.

`Backoff()` yields 1, 2, 4, 8, 16, 30, 30, ... seconds (newDelay = min(delay * factor, cap)).
Jitter is off by default; when on, it comes from a seeded generator, so a run replays exactly.
Delays are in scenario seconds: whoever sleeps multiplies them by its time scale.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    first_seconds: float = 1.0
    """The wait before the first poll."""
    factor: float = 2.0
    """Each wait is the previous one times this (1: a fixed interval, as in the lesson's Demo 1)."""
    cap_seconds: float = 30.0
    """No wait is longer than this (before jitter)."""
    jitter: float = 0.0
    """Each wait is multiplied by (1 ± jitter·u), u uniform in [0, 1]; 0 turns it off."""
    seed: int = 0
    """Seed of the jitter, so that the same backoff always gives the same waits."""

    def __post_init__(self) -> None:
        _finite("first_seconds", self.first_seconds)
        _finite("factor", self.factor)
        _finite("cap_seconds", self.cap_seconds)
        _finite("jitter", self.jitter)
        if self.first_seconds <= 0:
            raise ValueError(f"first_seconds must be positive, got {self.first_seconds!r}")
        if self.factor < 1:
            raise ValueError(f"factor must be at least 1 (waits never shrink), got {self.factor!r}")
        if self.cap_seconds < self.first_seconds:
            raise ValueError(
                f"cap_seconds ({self.cap_seconds!r}) must be at least first_seconds ({self.first_seconds!r})"
            )
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be a fraction in [0, 1), got {self.jitter!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def delays(self) -> Iterator[float]:
        """The waits, forever; every call starts again from `first_seconds` with the same jitter."""
        rng = random.Random(self.seed)
        delay = self.first_seconds
        while True:
            if self.jitter:
                # Jitter scales each wait but never feeds back into the next, so the sequence
                # stays within (1 ± jitter) of the plain one however long it runs.
                yield delay * (1 + self.jitter * rng.uniform(-1.0, 1.0))
            else:
                yield delay
            delay = min(delay * self.factor, self.cap_seconds)

    def describe(self) -> str:
        """`1, 2, 4, 8, 16, 30, 30 s` style summary, for progress lines and error messages."""
        plain = Backoff(self.first_seconds, self.factor, self.cap_seconds).delays()
        text = ", ".join(f"{next(plain):g}" for _ in range(7)) + ", ... s"
        return text + (f" (jitter ±{self.jitter:.0%}, seed {self.seed})" if self.jitter else "")


def _finite(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
