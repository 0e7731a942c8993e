"""drop_after_events: close the connection after N events of this stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import CloseAfterEvents, Count, Fault, register


@register
@dataclass(frozen=True, slots=True)
class DropAfterEvents(Fault):
    type: ClassVar[str] = "drop_after_events"
    events: Count = 1

    def stream_filter(self) -> CloseAfterEvents:
        return CloseAfterEvents(self.events, eager=True)
