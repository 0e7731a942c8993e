"""drop_after_events: close the connection after N events of this stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mock_server.faults.base import EVENT_STAGE, Action, Chunk, Close, Fault, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class DropAfterEvents(Fault):
    type: ClassVar[str] = "drop_after_events"
    events: int = 1

    def __post_init__(self) -> None:
        non_negative(events=self.events)

    def stream_filter(self) -> _Filter:
        return _Filter(self.events)


@dataclass(slots=True)
class _Filter:
    limit: int
    sent: int = 0
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, Chunk):
            return [action]
        if self.sent >= self.limit:
            return [Close()]
        self.sent += 1
        return [action, Close()] if self.sent == self.limit else [action]
