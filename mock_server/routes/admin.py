"""The admin API outside `/v1`: ground truth and the journal, for harnesses in any language."""

from __future__ import annotations

from aiohttp import web

from mock_server.errors import APIError
from mock_server.routes import json_response
from mock_server.state import STATE

ADMIN_PREFIX = "/_bgr"


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response({"status": "ok", "responses": len(state.store), "seed": state.config.seed})


async def journal(request: web.Request) -> web.Response:
    state = request.app[STATE]
    raw = request.query.get("since", "0")
    if not raw.isdigit():
        raise APIError(400, f"Invalid 'since': expected a whole number, got '{raw[:64]}'.", param="since")
    entries = state.journal.entries(int(raw))
    response_id = request.query.get("response_id")
    if response_id:
        entries = [entry for entry in entries if entry.response_id == response_id]
    return json_response({"dropped": state.journal.dropped, "entries": [entry.as_dict() for entry in entries]})


async def clear_journal(request: web.Request) -> web.Response:
    request.app[STATE].journal.clear()
    return json_response({"cleared": True})


async def ground_truth(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response(state.store.get(request.match_info["response_id"]).ground_truth())


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{ADMIN_PREFIX}/health", health)
    app.router.add_get(f"{ADMIN_PREFIX}/journal", journal)
    app.router.add_delete(f"{ADMIN_PREFIX}/journal", clear_journal)
    app.router.add_get(f"{ADMIN_PREFIX}/responses/{{response_id}}/truth", ground_truth)
