"""cancel_midway: the backend cancels the response itself after some deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Fault, non_negative, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class CancelMidway(Fault):
    type: ClassVar[str] = "cancel_midway"
    after_deltas: int = 1

    def __post_init__(self) -> None:
        non_negative(after_deltas=self.after_deltas)

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(spec, outcome="cancelled", outcome_after_deltas=min(self.after_deltas, tokens))
