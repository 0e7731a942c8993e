"""reset: after N events, abort the connection with a TCP RST instead of closing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import CloseAfterEvents, Fault, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class Reset(Fault):
    type: ClassVar[str] = "reset"
    after_events: int = 0

    def __post_init__(self) -> None:
        non_negative(after_events=self.after_events)

    def stream_filter(self) -> CloseAfterEvents:
        return CloseAfterEvents(self.after_events, reset=True)
