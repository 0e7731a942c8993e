"""OpenAI-style errors: one exception type that every layer raises, one envelope it becomes."""

from __future__ import annotations

import reprlib
from typing import Any

import orjson

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80


class APIError(Exception):
    """An error answered with OpenAI's envelope {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def body(self) -> bytes:
        try:
            return orjson.dumps(self.envelope())
        except orjson.JSONEncodeError:
            # A message quoting what aiohttp decoded from bytes that were not UTF-8 (lone surrogates).
            self.message = printable(self.message)
            return orjson.dumps(self.envelope())


def invalid_type(param: str, expected: str, value: object) -> APIError:
    return APIError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, message: str) -> APIError:
    return APIError(400, f"Invalid value for '{param}': {message}", param=param, code="invalid_value")


def missing_parameter(param: str) -> APIError:
    return APIError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def response_not_found(response_id: str) -> APIError:
    return APIError(404, f"Response with id '{response_id}' not found.", param="response_id", code=None)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def shown(value: object) -> str:
    """A value as an error message quotes it: like repr, but short, and safe however deeply it nests."""
    return _SHOWN.repr(value)


def printable(text: str) -> str:
    """`text` as valid UTF-8: aiohttp decodes header and URL bytes that are not UTF-8 to lone surrogates,
    which no JSON encoder takes; each becomes `?`."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")
