"""expire_cursors: resuming from an event older than `max_age_seconds` gets OpenAI's 400."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mock_server.errors import APIError
from mock_server.faults.base import Fault, Interception, RequestContext, Span, register


@register
@dataclass(frozen=True, slots=True)
class ExpireCursors(Fault):
    type: ClassVar[str] = "expire_cursors"
    max_age_seconds: Span = 300.0

    def intercept(self, context: RequestContext) -> Interception:
        if context.age_of_cursor is None or context.age_of_cursor <= self.max_age_seconds:
            return None
        return APIError(
            400,
            f"The 'starting_after' cursor is more than {_span(self.max_age_seconds)} old and can no longer be resumed.",
            param="starting_after",
            code="cursor_expired",
        )


def _span(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"
