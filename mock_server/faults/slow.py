"""slow: time to first token, tokens per second, and seeded jitter between deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Fault, non_negative, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Slow(Fault):
    type: ClassVar[str] = "slow"
    first_token_seconds: float = 0.0
    tokens_per_second: float = 0.0
    """0 releases every delta at once."""
    jitter: float = 0.0
    """Each gap varies by up to this fraction (0..1), from the seed."""

    def __post_init__(self) -> None:
        non_negative(first_token_seconds=self.first_token_seconds, tokens_per_second=self.tokens_per_second)
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(
            spec,
            first_token_seconds=self.first_token_seconds,
            tokens_per_second=self.tokens_per_second,
            jitter=self.jitter,
        )
