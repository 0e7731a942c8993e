"""stall: after N events stop sending for a while, keeping the connection open."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mock_server.faults.base import EVENT_STAGE, Action, Chunk, Close, Count, Fault, Pause, Seconds, register


@register
@dataclass(frozen=True, slots=True)
class Stall(Fault):
    type: ClassVar[str] = "stall"
    after_events: Count = 1
    seconds: Seconds = 30.0
    close_after: bool = False
    """Close the connection once the stall is over instead of carrying on."""

    def stream_filter(self) -> _Filter:
        return _Filter(self)


@dataclass(slots=True)
class _Filter:
    fault: Stall
    sent: int = 0
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, Chunk):
            return [action]
        self.sent += 1
        if self.sent != self.fault.after_events + 1:
            return [action]
        if self.fault.close_after:
            return [Pause(self.fault.seconds), Close()]
        return [Pause(self.fault.seconds), action]
