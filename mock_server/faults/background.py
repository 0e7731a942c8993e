"""background: how long a background response stays queued and in_progress, in seconds or in polls."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Count, Fault, Span, check_ranges, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Background(Fault):
    type: ClassVar[str] = "background"
    queue_seconds: Span | None = None
    in_progress_seconds: Span | None = None
    queued_polls: Count | None = None
    """Count polls instead of seconds: the first `queued_polls` polls see `queued`."""
    in_progress_polls: Count | None = None

    def __post_init__(self) -> None:
        check_ranges(self)
        by_time = self.queue_seconds is not None or self.in_progress_seconds is not None
        if by_time and self.by_polls:
            raise ValueError("give durations either in seconds or in polls, not both")

    @property
    def by_polls(self) -> bool:
        return self.queued_polls is not None or self.in_progress_polls is not None

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        queue = self.queued_polls if self.by_polls else self.queue_seconds
        running = self.in_progress_polls if self.by_polls else self.in_progress_seconds
        spec = dataclasses.replace(spec, paced_by_polls=self.by_polls)
        if queue is not None:
            spec = dataclasses.replace(spec, queue_seconds=float(queue))
        if running is not None:
            # Spread the deltas so that the last one lands exactly `running` units after in_progress.
            pace = (tokens - 1) / running if running > 0 and tokens > 1 else 0.0
            spec = dataclasses.replace(
                spec, first_token_seconds=0.0 if pace or tokens > 1 else float(running), tokens_per_second=pace
            )
        return spec
