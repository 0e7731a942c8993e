"""malformed_event: the event with a given sequence number is sent as broken JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mock_server.faults.base import EVENT_STAGE, Action, Chunk, Fault, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class MalformedEvent(Fault):
    type: ClassVar[str] = "malformed_event"
    at_sequence: int = 0

    def __post_init__(self) -> None:
        non_negative(at_sequence=self.at_sequence)

    def stream_filter(self) -> _Filter:
        return _Filter(self.at_sequence)


@dataclass(slots=True)
class _Filter:
    at_sequence: int
    stage: int = field(default=EVENT_STAGE, init=False)

    def feed(self, action: Action) -> list[Action]:
        if isinstance(action, Chunk) and action.sequence_number == self.at_sequence:
            # Keep the event line, cut the JSON in half: a parser must notice, not guess.
            event_line, _, data = action.data.partition(b"\n")
            return [Chunk(event_line + b"\n" + data[: max(7, len(data) // 2)] + b"\n\n", action.sequence_number)]
        return [action]
