"""The JSON body of a request, read and parsed once (by the journal middleware) and shared."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from mock_server.errors import APIError

_BODY = "bgr_body"
_BODY_ERROR = "bgr_body_error"


def store_body(request: web.Request, raw: bytes) -> Any:
    """Parse `raw` and keep the result (or why it failed) on the request; returns the parsed body."""
    if not raw:
        request[_BODY_ERROR] = APIError(400, "The request body is empty; expected a JSON object.", code="invalid_json")
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        request[_BODY_ERROR] = APIError(
            400,
            f"We could not parse the JSON body of your request. ({error.msg} at position {error.pos})",
            code="invalid_json",
        )
        return None
    request[_BODY] = body
    return body


def json_body(request: web.Request) -> Any:
    if _BODY_ERROR in request:
        raise request[_BODY_ERROR]
    return request.get(_BODY)
