"""sequence_gap: the event with a given sequence number is never sent (a hole in the sequence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Action, AtSequenceFault, Chunk, register


@register
@dataclass(frozen=True, slots=True)
class SequenceGap(AtSequenceFault):
    type: ClassVar[str] = "sequence_gap"

    def alter(self, event: Chunk) -> list[Action]:
        return []
