"""The admin API outside `/v1`: ground truth and the journal, for harnesses in any language."""

from __future__ import annotations

import os

from aiohttp import web

from mock_server.errors import APIError
from mock_server.exchange import json_body
from mock_server.faults import FaultSpecError
from mock_server.journal import JournalEntry
from mock_server.params import parse_index
from mock_server.routes import json_response
from mock_server.rules import decode_rule
from mock_server.state import STATE

ADMIN_PREFIX = "/_bgr"


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    config = state.config
    return json_response(
        {
            "status": "ok",
            "responses": len(state.store),
            "seed": config.seed,
            "time_scale": config.time_scale,
            "pid": os.getpid(),  # which worker of a fleet answered
            "rule_batches": True,  # POST several rules, DELETE several ids, in one request (older mocks: one each)
        }
    )


async def journal(request: web.Request) -> web.Response:
    state = request.app[STATE]
    entries = state.journal.entries(parse_index(request.query.get("since", "0"), "since"))
    response_id = request.query.get("response_id")
    if response_id:
        entries = [entry for entry in entries if entry.response_id == response_id]
    return json_response(
        {
            "dropped": state.journal.dropped,
            "cleared": state.journal.cleared,
            "next_index": state.journal.next_index,
            "entries": [entry.as_dict() for entry in entries],
        }
    )


async def add_mark(request: web.Request) -> web.Response:
    """A harness's note in the journal's timeline (`MARK <label>`), e.g. when it asked an agent to start polling."""
    state = request.app[STATE]
    body = json_body(request)
    label = body.get("label") if isinstance(body, dict) else None
    if not isinstance(label, str) or not label or len(label) > 200:
        raise APIError(400, "A mark needs a 'label': a non-empty string of at most 200 chars.", param="label")
    now = state.clock.now()
    entry = JournalEntry(received_at=now, method="MARK", path=label, query={}, headers={}, body_bytes=0)
    entry.status, entry.answered_at = 200, now
    state.journal.add(entry)
    return json_response({"index": entry.index, "received_at": now})


async def clear_journal(request: web.Request) -> web.Response:
    removed = request.app[STATE].journal.clear()
    return json_response({"cleared": True, "entries": removed})


async def ground_truth(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response(state.store.get(request.match_info["response_id"]).ground_truth())


async def list_rules(request: web.Request) -> web.Response:
    return json_response({"rules": [rule.as_dict() for rule in request.app[STATE].rules.rules()]})


async def add_rule(request: web.Request) -> web.Response:
    """One rule, or `{"rules": [...]}`: several in one request, all decoded before any is added."""
    body = json_body(request)
    book = request.app[STATE].rules
    try:
        if isinstance(body, dict) and set(body) == {"rules"}:
            if not isinstance(body["rules"], list):
                raise FaultSpecError("rules", "expected a list of rules")
            rules = [decode_rule(item, f"rules[{i}]") for i, item in enumerate(body["rules"])]
            return json_response({"rules": [book.add(rule).as_dict() for rule in rules]})
        rule = decode_rule(body)
    except FaultSpecError as error:
        raise APIError(400, f"Invalid rule: {error}", param=error.field, code="invalid_rule") from None
    return json_response(book.add(rule).as_dict())


async def clear_rules(request: web.Request) -> web.Response:
    request.app[STATE].rules.clear()
    return json_response({"cleared": True})


async def delete_rule(request: web.Request) -> web.Response:
    """One id, or several joined by commas (`/_bgr/rules/3,4`): each that exists goes; 404 names one that did not."""
    raw = request.match_info["rule_id"]
    rule_ids = [parse_index(part, "rule_id") for part in raw.split(",")]
    book = request.app[STATE].rules
    missing = [rule_id for rule_id in rule_ids if not book.remove(rule_id)]
    if missing:
        shown_id = raw[:64] if len(rule_ids) == 1 else str(missing[0])
        raise APIError(404, f"No rule with id '{shown_id}'.", param="rule_id")
    if len(rule_ids) == 1:
        return json_response({"id": rule_ids[0], "deleted": True})
    return json_response({"ids": rule_ids, "deleted": True})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{ADMIN_PREFIX}/rules", list_rules)
    app.router.add_post(f"{ADMIN_PREFIX}/rules", add_rule)
    app.router.add_delete(f"{ADMIN_PREFIX}/rules", clear_rules)
    app.router.add_delete(f"{ADMIN_PREFIX}/rules/{{rule_id}}", delete_rule)
    app.router.add_get(f"{ADMIN_PREFIX}/health", health)
    app.router.add_get(f"{ADMIN_PREFIX}/journal", journal)
    app.router.add_delete(f"{ADMIN_PREFIX}/journal", clear_journal)
    app.router.add_post(f"{ADMIN_PREFIX}/journal/marks", add_mark)
    app.router.add_get(f"{ADMIN_PREFIX}/responses/{{response_id}}/truth", ground_truth)
