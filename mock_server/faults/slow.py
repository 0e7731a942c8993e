"""slow: time to first token, tokens per second, and seeded jitter between deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, ClassVar

from mock_server.faults.base import Fault, Pace, Range, Span, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Slow(Fault):
    type: ClassVar[str] = "slow"
    first_token_seconds: Span = 0.0
    tokens_per_second: Pace = 0.0
    """0 releases every delta at once."""
    jitter: Annotated[float, Range(0, 1)] = 0.0
    """Each gap varies by up to this fraction (0..1), from the seed."""

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(
            spec,
            first_token_seconds=self.first_token_seconds,
            tokens_per_second=self.tokens_per_second,
            jitter=self.jitter,
        )
