"""malformed_event: the event with a given sequence number is sent as broken JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Action, AtSequenceFault, Chunk, register


@register
@dataclass(frozen=True, slots=True)
class MalformedEvent(AtSequenceFault):
    type: ClassVar[str] = "malformed_event"

    def alter(self, event: Chunk) -> list[Action]:
        # Keep the event line, cut the JSON in half: a parser must notice, not guess.
        event_line, _, data = event.data.partition(b"\n")
        return [Chunk(event_line + b"\n" + data[: max(7, len(data) // 2)] + b"\n\n", event.sequence_number)]
