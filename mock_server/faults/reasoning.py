"""reasoning: the model reasons first: a `reasoning` output item whose summary streams before the output."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, ClassVar

from mock_server.faults.base import Fault, Range, check_ranges, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Reasoning(Fault):
    """A behaviour of a reasoning model, asked for by a rule; the summary's text is seeded like the answer's."""

    type: ClassVar[str] = "reasoning"
    parts: Annotated[int, Range(1, 32)] = 1
    """Summary parts (`summary_index` 0..parts-1)."""
    words: Annotated[int, Range(1, 1_000)] = 12
    """Deltas per part: each is one word, and one reasoning token."""

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.parts < 1 or self.words < 1:
            raise ValueError("parts and words must be at least 1")

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(spec, reasoning_parts=self.parts, reasoning_words=self.words)
