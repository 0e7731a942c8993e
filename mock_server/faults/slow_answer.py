"""slow_answer: wait before answering a request (a slow poll), then answer normally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Delay, Fault, Interception, RequestContext, Seconds, register


@register
@dataclass(frozen=True, slots=True)
class SlowAnswer(Fault):
    type: ClassVar[str] = "slow_answer"
    seconds: Seconds = 1.0

    def intercept(self, context: RequestContext) -> Interception:
        return Delay(self.seconds)
