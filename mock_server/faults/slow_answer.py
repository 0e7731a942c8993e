"""slow_answer: wait before answering a request (a slow poll), then answer normally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Delay, Fault, Interception, RequestContext, non_negative, register


@register
@dataclass(frozen=True, slots=True)
class SlowAnswer(Fault):
    type: ClassVar[str] = "slow_answer"
    seconds: float = 1.0

    def __post_init__(self) -> None:
        non_negative(seconds=self.seconds)

    def intercept(self, context: RequestContext) -> Interception:
        return Delay(self.seconds)
