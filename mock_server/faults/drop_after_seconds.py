"""drop_after_seconds: close the connection once the stream has been open for a while."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mock_server.faults.base import EVENT_STAGE, Action, Fault, Seconds, register


@register
@dataclass(frozen=True, slots=True)
class DropAfterSeconds(Fault):
    type: ClassVar[str] = "drop_after_seconds"
    seconds: Seconds = 1.0

    def stream_filter(self) -> _Filter:
        return _Filter(self.seconds)


@dataclass(slots=True)
class _Filter:
    close_after_seconds: float
    """Read by the sender, which owns the clock and the waiting."""
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        return [action]
