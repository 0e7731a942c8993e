"""cancel_midway: the backend cancels the response itself after some deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Count, Fault, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class CancelMidway(Fault):
    type: ClassVar[str] = "cancel_midway"
    after_deltas: Count = 1

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(spec, outcome="cancelled", outcome_after_deltas=min(self.after_deltas, tokens))
