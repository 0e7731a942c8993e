"""HTTP handlers, one module per API surface; they parse, call the store, and answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import orjson
from aiohttp import web

from mock_server.exchange import journal_entry, json_body
from mock_server.playback import Recorded

_Answer = TypeVar("_Answer", bound=Recorded)


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def json_bytes_response(body: bytes, status: int = 200) -> web.Response:
    """An answer already encoded (a compiled Response object): no decode and encode again."""
    return web.Response(body=body, status=status, content_type="application/json")


def recording_for(
    request: web.Request, match: Callable[[str, str, dict[str, str], bytes], _Answer | None]
) -> _Answer | None:
    """The recorded answer `match` (a `Recordings` method) finds for this create, noted in the journal."""
    # The body was parsed as JSON whatever its header said: vcrpy's body matcher compares it as JSON then.
    headers = {**request.headers, "Content-Type": "application/json"}
    answer = match(request.method, str(request.url), headers, orjson.dumps(json_body(request)))
    if answer is not None:
        journal_entry(request).notes.append(f"answered by the recording {answer.source}")
    return answer
