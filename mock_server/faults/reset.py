"""reset: after N events, abort the connection with a TCP RST instead of closing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import CloseAfterEvents, Count, Fault, register


@register
@dataclass(frozen=True, slots=True)
class Reset(Fault):
    type: ClassVar[str] = "reset"
    after_events: Count = 0

    def stream_filter(self) -> CloseAfterEvents:
        return CloseAfterEvents(self.after_events, reset=True)
