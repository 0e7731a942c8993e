"""fail: the response ends `failed`, with an error, after some deltas."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Count, Fault, Text, register
from mock_server.timeline import TimelineSpec


@register
@dataclass(frozen=True, slots=True)
class Fail(Fault):
    type: ClassVar[str] = "fail"
    after_deltas: Count = 0
    code: Text = "server_error"
    message: Text = "The model failed to generate a response."

    def shape(self, spec: TimelineSpec, tokens: int) -> TimelineSpec:
        return dataclasses.replace(
            spec,
            outcome="failed",
            outcome_after_deltas=min(self.after_deltas, tokens),
            error_code=self.code,
            error_message=self.message,
        )
