"""HTTP handlers, one module per API surface; they parse, call the store, and answer."""

from __future__ import annotations

import orjson
from aiohttp import web


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def json_bytes_response(body: bytes, status: int = 200) -> web.Response:
    """An answer already encoded (a compiled Response object): no decode and encode again."""
    return web.Response(body=body, status=status, content_type="application/json")
