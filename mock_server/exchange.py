"""What the mock knows about the request being answered: its parsed body and its journal entry.

The journal middleware reads and parses the body once, before any handler runs, so the
journal records rejected requests too and handlers never parse twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from mock_server.errors import APIError
from mock_server.journal import JournalEntry


@dataclass(slots=True)
class Exchange:
    entry: JournalEntry
    body: Any = None
    body_error: APIError | None = None

    def parse_body(self, raw: bytes) -> Any:
        if not raw:
            self.body_error = APIError(400, "The request body is empty; expected a JSON object.", code="invalid_json")
            return None
        try:
            self.body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            self.body_error = APIError(
                400,
                f"We could not parse the JSON body of your request. ({error.msg} at position {error.pos})",
                code="invalid_json",
            )
        return self.body


EXCHANGE = web.RequestKey("bgr_exchange", Exchange)


def json_body(request: web.Request) -> Any:
    exchange = request[EXCHANGE]
    if exchange.body_error is not None:
        raise exchange.body_error
    return exchange.body


def journal_entry(request: web.Request) -> JournalEntry:
    return request[EXCHANGE].entry
