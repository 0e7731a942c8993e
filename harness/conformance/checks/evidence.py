"""Small readers of a history shared by several checks: what the truth is, how to quote a call."""

from __future__ import annotations

from typing import Any

from harness.conformance.checks.base import NotApplicable
from harness.conformance.delivery import answer_response_id
from harness.conformance.history import Call, History, utf8_size

TERMINAL_FAILURES = ("failed", "incomplete", "cancelled")
TERMINAL = ("completed", *TERMINAL_FAILURES)


def truth(history: History) -> dict[str, Any]:
    """The ground truth of the final answer: the last turn of the conversation (the only one, without tools)."""
    response_id = answer_response_id(history)
    if response_id is None:
        raise NotApplicable("the agent created no Responses API response in this scenario")
    return history.server.truths[response_id]


def describe(call: Call) -> str:
    token = "null" if call.token_out is None else f"{call.token_out[:60]!r} ({utf8_size(call.token_out)} B)"
    parts = [f"call {call.index} {call.step}{' stream' if call.stream else ''}", f"token {token}"]
    if call.text:
        parts.append(f"text {len(call.text)} chars")
    if call.status:
        parts.append(f"status {call.status}")
    if call.error:
        parts.append(f"error {call.error[:120]!r}")
    if call.cut:
        parts.append("cut by the harness")
    return ", ".join(parts)


def polls_of(history: History, response_id: str) -> list[dict[str, Any]]:
    """Server-side polls (GET without stream) of one response, in order."""
    return [
        entry
        for entry in history.server.journal
        if entry["method"] == "GET"
        and entry.get("response_id") == response_id
        and entry.get("query", {}).get("stream") != "true"
    ]
