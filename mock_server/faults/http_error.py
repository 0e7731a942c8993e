"""http_error: answer with 429 (with Retry-After / retry-after-ms) or a 5xx instead of the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from mock_server.errors import APIError
from mock_server.faults.base import Fault, Interception, Range, RequestContext, Text, register

_DEFAULTS = {
    429: ("rate_limit_exceeded", "requests", "Rate limit reached. Please try again later."),
    500: ("server_error", "server_error", "The server had an error while processing your request."),
    502: ("bad_gateway", "server_error", "Bad gateway."),
    503: ("service_unavailable", "server_error", "The engine is currently overloaded, please try again later."),
}


@register
@dataclass(frozen=True, slots=True)
class HttpError(Fault):
    type: ClassVar[str] = "http_error"
    status: Literal[429, 500, 502, 503] = 429
    retry_after: Annotated[float, Range(0, 86_400)] | None = None
    """Seconds, sent as `Retry-After` (whole seconds, rounded up)."""
    retry_after_ms: Annotated[int, Range(0, 86_400_000)] | None = None
    message: Text | None = None

    def intercept(self, context: RequestContext) -> Interception:
        code, error_type, default_message = _DEFAULTS[self.status]
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(-(-self.retry_after // 1)))
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        return APIError(self.status, self.message or default_message, type=error_type, code=code, headers=headers)
