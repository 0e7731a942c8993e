"""The mock's HTTP connections: aiohttp's own, with two changes a hardened server needs.

- What aiohttp refuses before any handler runs (an unknown method, a 1 MB header line, bytes
  that are not HTTP, an unknown `Expect`) is answered in OpenAI's error envelope, as JSON, like every other bad input.
- A request head that starts arriving on an idle connection must finish within `read_timeout`
  real seconds, or the connection is closed: a client that stalls mid-head holds nothing for long.
  aiohttp's own `keepalive_timeout` closes connections idle before or between requests, partial
  heads included, so a head that the parser holds unseen (pipelined behind an answer) ends then.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from mock_server.errors import APIError

log = logging.getLogger("bgr.mock")

_LONGEST_REASON_CHARS = 200


class MockConnection(RequestHandler):
    def __init__(self, manager: web.Server, *, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._read_timeout = read_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Still waiting for a request after these bytes: they are part of a head, now under way.
        waiting = self._waiter is not None and not self._waiter.done()
        if waiting and data and self._head_timer is None:
            self._head_timer = self._loop.call_later(self._read_timeout, self._head_too_slow)
        elif not waiting:
            self._stop_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._waiter is not None and not self._waiter.done():
            log.debug("closing a connection whose request head took over %s s", self._read_timeout)
            self.force_close()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        if isinstance(resp, web.HTTPException) and resp.status >= 400:
            # Raised by aiohttp outside the app's middleware (an unknown `Expect`), as text/plain.
            reason = " ".join((resp.text or resp.reason).split())[:_LONGEST_REASON_CHARS]
            error = APIError(resp.status, reason, code="invalid_http_request")
            resp = web.Response(status=resp.status, body=error.body(), content_type="application/json")
            resp.force_close()  # the body it refused to expect may still be on its way
        return await super().finish_response(request, resp, start_time)

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse or handle, in the envelope instead of text/plain."""
        if status >= 500:
            log.error("error handling a request from %s", request.remote, exc_info=exc)
            error = APIError(status, "The mock server had an internal error.", type="server_error")
        else:
            reason = " ".join((message or getattr(exc, "message", "") or "malformed request").split())
            error = APIError(
                status,
                f"The request is not valid HTTP: {reason[:_LONGEST_REASON_CHARS]}",
                code="invalid_http_request",
            )
        if request.writer.output_size > 0:
            raise ConnectionError("the answer has started; no error can be sent any more")
        response = web.Response(status=status, body=error.body(), content_type="application/json")
        response.force_close()
        return response


class _MockHttpServer(web.Server):
    def __call__(self) -> RequestHandler:
        return MockConnection(self, loop=self._loop, **self._kwargs)


class MockAppRunner(web.AppRunner):
    """An AppRunner whose connections are MockConnections (pass `read_timeout=` with the other handler options)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds its Server itself; only which protocol it makes per connection changes.
        server.__class__ = _MockHttpServer
        return server
