"""drop_after_events: close the connection after N events of this stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import CloseAfterEvents, Fault, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class DropAfterEvents(Fault):
    type: ClassVar[str] = "drop_after_events"
    events: int = 1

    def __post_init__(self) -> None:
        non_negative(events=self.events)

    def stream_filter(self) -> CloseAfterEvents:
        return CloseAfterEvents(self.events, eager=True)
