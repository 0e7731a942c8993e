"""sequence_repeat: the event with a given sequence number is sent twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Action, AtSequenceFault, Chunk, register


@register
@dataclass(frozen=True, slots=True)
class SequenceRepeat(AtSequenceFault):
    type: ClassVar[str] = "sequence_repeat"

    def alter(self, event: Chunk) -> list[Action]:
        return [event, event]
