"""incomplete: the response ends `incomplete` (with a reason) after some deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Literal

from mock_server.faults.base import Count, Fault, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Incomplete(Fault):
    type: ClassVar[str] = "incomplete"
    after_deltas: Count = 1
    reason: Literal["max_output_tokens", "content_filter"] = "max_output_tokens"

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(
            spec,
            outcome="incomplete",
            outcome_after_deltas=min(self.after_deltas, tokens),
            incomplete_reason=self.reason,
        )
