"""hang: never answer; after `seconds` (bounded, so it stops by itself) close the connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.faults.base import Fault, HangUp, Interception, RequestContext, Seconds, register


@register
@dataclass(frozen=True, slots=True)
class Hang(Fault):
    type: ClassVar[str] = "hang"
    seconds: Seconds = 60.0

    def intercept(self, context: RequestContext) -> Interception:
        return HangUp(self.seconds)
