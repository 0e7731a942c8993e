"""The full event sequence of one response, encoded once, each event stamped with when it is released.

A response's future is decided when it is created: its text, its events and their
times are a pure function of the request, the seed and the timing. Polls and
streams only look at how much of it has been released by now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_server.config import Timing
from mock_server.event_log import EventLog
from mock_server.objects import output_message, output_text, response_object, response_usage
from mock_server.params import ResponseParams
from mock_server.sse import event_frame


@dataclass(slots=True)
class Timeline:
    log: EventLog
    started_at: float
    """When the response leaves `queued` (its `response.in_progress` event)."""
    finished_at: float
    """When its terminal event is released."""
    final: dict[str, Any]
    """The Response object in its terminal state."""


def build_timeline(
    response_id: str,
    item_id: str,
    params: ResponseParams,
    tokens: list[str],
    input_tokens: int,
    created_at: float,
    timing: Timing,
) -> Timeline:
    log = EventLog()
    text = "".join(tokens)
    started_at = created_at + (timing.queue_seconds if params.background else 0.0)
    first_token_at = started_at + timing.first_token_seconds
    token_gap = 1.0 / timing.tokens_per_second if timing.tokens_per_second > 0 else 0.0
    finished_at = first_token_at + token_gap * (len(tokens) - 1)

    def snapshot(status: str, **terminal: Any) -> dict[str, Any]:
        return response_object(response_id, params, created_at=created_at, status=status, **terminal)

    def emit(at: float, payload: dict[str, Any]) -> None:
        payload["sequence_number"] = len(log)
        log.append(event_frame(payload), at)

    part_base = {"item_id": item_id, "output_index": 0, "content_index": 0}
    first_status = "queued" if params.background else "in_progress"
    emit(created_at, {"type": "response.created", "response": snapshot(first_status)})
    if params.background:
        emit(created_at, {"type": "response.queued", "response": snapshot("queued")})
    emit(started_at, {"type": "response.in_progress", "response": snapshot("in_progress")})
    emit(
        started_at,
        {"type": "response.output_item.added", "output_index": 0, "item": output_message(item_id, "in_progress", [])},
    )
    emit(started_at, {"type": "response.content_part.added", **part_base, "part": output_text("")})
    for index, token in enumerate(tokens):
        emit(
            first_token_at + index * token_gap,
            {"type": "response.output_text.delta", **part_base, "delta": token, "logprobs": []},
        )
    emit(finished_at, {"type": "response.output_text.done", **part_base, "text": text, "logprobs": []})
    emit(finished_at, {"type": "response.content_part.done", **part_base, "part": output_text(text)})
    message = output_message(item_id, "completed", [output_text(text)])
    emit(finished_at, {"type": "response.output_item.done", "output_index": 0, "item": message})
    final = snapshot(
        "completed",
        output=[message],
        usage=response_usage(input_tokens, len(tokens)),
        completed_at=finished_at,
    )
    emit(finished_at, {"type": "response.completed", "response": final})
    log.seal()
    return Timeline(log=log, started_at=started_at, finished_at=finished_at, final=final)
