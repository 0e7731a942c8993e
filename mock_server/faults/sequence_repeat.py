"""sequence_repeat: the event with a given sequence number is sent twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mock_server.faults.base import EVENT_STAGE, Action, Chunk, Fault, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class SequenceRepeat(Fault):
    type: ClassVar[str] = "sequence_repeat"
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
            return [action, action]
        return [action]
