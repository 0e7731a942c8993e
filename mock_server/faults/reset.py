"""reset: after N events, abort the connection with a TCP RST instead of closing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mock_server.faults.base import EVENT_STAGE, Action, Chunk, Close, Fault, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class Reset(Fault):
    type: ClassVar[str] = "reset"
    after_events: int = 0

    def __post_init__(self) -> None:
        non_negative(after_events=self.after_events)

    def stream_filter(self) -> _Filter:
        return _Filter(self.after_events)


@dataclass(slots=True)
class _Filter:
    limit: int
    sent: int = 0
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, Chunk):
            return [action]
        if self.sent >= self.limit:
            return [Close(reset=True)]
        self.sent += 1
        return [action]
