"""incomplete: the response ends `incomplete` (with a reason) after some deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Literal

from mock_server.faults.base import Fault, non_negative, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Incomplete(Fault):
    type: ClassVar[str] = "incomplete"
    after_deltas: int = 1
    reason: Literal["max_output_tokens", "content_filter"] = "max_output_tokens"

    def __post_init__(self) -> None:
        non_negative(after_deltas=self.after_deltas)

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(
            spec,
            outcome="incomplete",
            outcome_after_deltas=min(self.after_deltas, tokens),
            incomplete_reason=self.reason,
        )
