"""The aiohttp application: routes, and the one middleware that journals every request and
turns every failure into an OpenAI error envelope."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from mock_server.config import ADMIN_TOKEN_ENV
from mock_server.errors import APIError, printable
from mock_server.exchange import EXCHANGE, Exchange
from mock_server.fault_engine import HungUp
from mock_server.journal import JournalEntry, body_essentials, journaled_headers
from mock_server.routes import admin, chat, responses
from mock_server.state import STATE, MockState

log = logging.getLogger("bgr.mock")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NO_ANSWER = web.Response(status=204)
"""Stands for a request the mock hung up on; its connection is already closed."""

_HTTP_ERROR_TYPES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def build_app(state: MockState) -> web.Application:
    app = web.Application(middlewares=[journal_and_errors], client_max_size=state.config.max_body_bytes)
    app[STATE] = state
    responses.add_routes(app)
    chat.add_routes(app)
    admin.add_routes(app)
    return app


@web.middleware
async def journal_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    entry = JournalEntry(
        received_at=state.clock.now(),
        method=request.method,
        path=printable(request.path),
        query={printable(key): printable(value) for key, value in request.query.items()}
        if request.query_string
        else {},
        headers=journaled_headers(request.headers),
        body_bytes=request.content_length or 0,
    )
    exchange = Exchange(entry)
    request[EXCHANGE] = exchange
    if state.config.admin_token is not None and _is_admin(request.path):
        refusal = _refused(request, state.config.admin_token)
        if refusal is not None:
            return _error_response(refusal, entry)
    if not request.path.startswith(admin.ADMIN_PREFIX):
        # Reading the journal must not grow it; everything else is journaled before validation.
        state.journal.add(entry)
    response: web.StreamResponse | None = None
    if request.body_exists:
        try:
            async with asyncio.timeout(state.config.read_timeout_seconds):
                raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            message = f"The request body exceeds the limit of {state.config.max_body_bytes} bytes."
            response = _error_response(APIError(413, message, code="request_too_large"), entry)
        except TimeoutError:
            message = f"The request body did not arrive within {state.config.read_timeout_seconds:g} seconds."
            response = _error_response(APIError(408, message, code="request_timeout"), entry)
            response.force_close()
        else:
            entry.body_bytes = len(raw)
            entry.body = body_essentials(exchange.parse_body(raw))
    try:
        if response is None:
            response = await _answer(request, handler, entry)
        entry.status = None if response is _NO_ANSWER else response.status
        entry.answered_at = state.clock.now()
    finally:
        if not request.path.startswith(admin.ADMIN_PREFIX):
            # Faults, notes and the body came after the entry was first counted (a client gone mid-stream
            # too); a shared journal publishes the complete entry now.
            state.journal.settle(entry)
    return response


def _is_admin(path: str) -> bool:
    return path == admin.ADMIN_PREFIX or path.startswith(f"{admin.ADMIN_PREFIX}/")


def _refused(request: web.Request, token: str) -> APIError | None:
    """Why an admin request may not pass, if it may not: it must carry the admin token."""
    given = request.headers.get("Authorization", "")
    scheme, _, credentials = given.partition(" ")
    # surrogateescape: a header that was not UTF-8 compares as its bytes (and never matches).
    if scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode("utf-8", "surrogateescape"), token.encode()
    ):
        return None
    return APIError(
        401,
        "This mock's admin API needs its admin token: send 'Authorization: Bearer <token>' "
        f"(the token given to `bgr serve --admin-token` or in {ADMIN_TOKEN_ENV}).",
        code="invalid_admin_token",
        headers={"WWW-Authenticate": 'Bearer realm="bgr admin"'},
    )


async def _answer(request: web.Request, handler: Handler, entry: JournalEntry) -> web.StreamResponse:
    try:
        return await handler(request)
    except HungUp:
        entry.notes.append("hung up without answering")
        return _NO_ANSWER
    except APIError as error:
        return _error_response(error, entry)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        reason = error.reason
        if error.status == 404:
            reason = f"Unknown request URL: {request.method} {request.path}."
        return _error_response(APIError(error.status, reason, code=_HTTP_ERROR_TYPES.get(error.status)), entry)
    except Exception:
        # A bug in the mock, not bad input; still answered in the envelope so clients parse it.
        log.exception("unhandled error for %s %s", request.method, request.path)
        return _error_response(APIError(500, "The mock server had an internal error.", type="server_error"), entry)


def _error_response(error: APIError, entry: JournalEntry) -> web.Response:
    entry.error_code = error.code or error.type
    headers = {name.lower(): value for name, value in error.headers.items()}
    if "retry-after-ms" in headers:
        entry.retry_after_seconds = int(headers["retry-after-ms"]) / 1000
    elif "retry-after" in headers:
        entry.retry_after_seconds = float(headers["retry-after"])
    return web.Response(body=error.body(), status=error.status, content_type="application/json", headers=error.headers)
