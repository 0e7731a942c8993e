"""The full event sequence of one response, encoded once, each event stamped with when it is released.

A response's future is decided when it is created: its text, its events and their
times are a pure function of the request, the seed and its TimelineSpec. Polls and
streams only look at how much of it has been released by now. Because it is pure,
a durable store keeps the spec, not the events, and rebuilds them identically.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

import orjson

from mock_server.config import Timing
from mock_server.event_log import EventLog
from mock_server.objects import output_message, output_text, response_object, response_usage
from mock_server.params import ResponseParams
from mock_server.sse import event_frame

Outcome = Literal["completed", "failed", "incomplete", "cancelled"]


@dataclass(frozen=True, slots=True)
class TimelineSpec:
    """Everything besides the request that decides a response's events and their times."""

    queue_seconds: float = 0.0
    first_token_seconds: float = 0.0
    tokens_per_second: float = 0.0
    jitter: float = 0.0
    """Each gap between deltas varies by up to this fraction, seeded by `jitter_seed`."""
    jitter_seed: int = 0
    outcome: Outcome = "completed"
    outcome_after_deltas: int | None = None
    """Deltas released before a failed/incomplete/cancelled ending (None: all of them)."""
    error_code: str = "server_error"
    error_message: str = "The model failed to generate a response."
    incomplete_reason: str = "max_output_tokens"
    paced_by_polls: bool = False
    """Times count polls of the response instead of seconds (one poll = one unit)."""

    @classmethod
    def from_timing(cls, timing: Timing) -> TimelineSpec:
        return cls(timing.queue_seconds, timing.first_token_seconds, timing.tokens_per_second)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Timeline:
    log: EventLog
    started_at: float
    """When the response leaves `queued` (its `response.in_progress` event)."""
    finished_at: float
    """When its last event is released: from then on its status is `final_status`."""
    final_status: Outcome
    text: str
    """The text the backend produced: every delta it will ever release, joined."""
    final: dict[str, Any]
    """The Response object in its final state."""


def build_timeline(
    response_id: str,
    item_id: str,
    params: ResponseParams,
    tokens: list[str],
    input_tokens: int,
    created_at: float,
    spec: TimelineSpec,
) -> Timeline:
    frames: list[bytes] = []
    times: list[float] = []
    kept = tokens if spec.outcome_after_deltas is None else tokens[: spec.outcome_after_deltas]
    text = "".join(kept)
    started_at = created_at + (spec.queue_seconds if params.background else 0.0)
    delta_times = _delta_times(started_at + spec.first_token_seconds, len(kept), spec)
    finished_at = delta_times[-1] if delta_times else started_at + spec.first_token_seconds

    def snapshot(status: str, **terminal: Any) -> dict[str, Any]:
        return response_object(response_id, params, created_at=created_at, status=status, **terminal)

    def emit(at: float, payload: dict[str, Any]) -> None:
        payload["sequence_number"] = len(frames)
        frames.append(event_frame(payload))
        times.append(at)

    part_base = {"item_id": item_id, "output_index": 0, "content_index": 0}
    emit(
        created_at, {"type": "response.created", "response": snapshot("queued" if params.background else "in_progress")}
    )
    if params.background:
        emit(created_at, {"type": "response.queued", "response": snapshot("queued")})
    emit(started_at, {"type": "response.in_progress", "response": snapshot("in_progress")})
    emit(
        started_at,
        {"type": "response.output_item.added", "output_index": 0, "item": output_message(item_id, "in_progress", [])},
    )
    emit(started_at, {"type": "response.content_part.added", **part_base, "part": output_text("")})
    frames.extend(_delta_frames(part_base, kept, len(frames)))
    times.extend(delta_times)

    usage = response_usage(input_tokens, len(kept))
    if spec.outcome == "cancelled":
        # A cancel ends the stream where it stands: no closing events.
        final = snapshot("cancelled")
    elif spec.outcome == "failed":
        error = {"code": spec.error_code, "message": spec.error_message}
        final = snapshot("failed", error=error, usage=usage)
        emit(finished_at, {"type": "response.failed", "response": final})
    else:
        item_status = "completed" if spec.outcome == "completed" else "incomplete"
        emit(finished_at, {"type": "response.output_text.done", **part_base, "text": text, "logprobs": []})
        emit(finished_at, {"type": "response.content_part.done", **part_base, "part": output_text(text)})
        message = output_message(item_id, item_status, [output_text(text)])
        emit(finished_at, {"type": "response.output_item.done", "output_index": 0, "item": message})
        if spec.outcome == "completed":
            final = snapshot("completed", output=[message], usage=usage, completed_at=finished_at)
        else:
            final = snapshot("incomplete", output=[message], usage=usage, incomplete_reason=spec.incomplete_reason)
        emit(finished_at, {"type": f"response.{spec.outcome}", "response": final})
    return Timeline(EventLog.sealed(frames, times), started_at, finished_at, spec.outcome, text, final)


def _delta_frames(part_base: dict[str, Any], tokens: list[str], first_sequence: int) -> list[bytes]:
    """The text deltas' frames, byte for byte what `event_frame` makes of each one.

    They differ only in the token and the sequence number, so the rest is encoded once
    around placeholders instead of a dict and a JSON encoding per token. The split is
    safe: orjson escapes quotes inside ids, so the placeholders can only match the keys.
    """
    template = event_frame(
        {"type": "response.output_text.delta", **part_base, "delta": "", "logprobs": [], "sequence_number": 0}
    )
    head, tail = template.split(b'"delta":"",', 1)
    middle, end = tail.rsplit(b'"sequence_number":0', 1)
    # One bytes %-format per delta; literal % in the fixed parts is escaped.
    pattern = b"%%".join(head.split(b"%")) + b'"delta":%s,' + b"%%".join(middle.split(b"%"))
    pattern += b'"sequence_number":%d' + b"%%".join(end.split(b"%"))
    dumps = orjson.dumps
    return [pattern % (dumps(token), sequence) for sequence, token in enumerate(tokens, first_sequence)]


def _delta_times(first_at: float, count: int, spec: TimelineSpec) -> list[float]:
    if count == 0:
        return []
    gap = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
    if gap == 0.0:
        return [first_at] * count
    rng = random.Random(spec.jitter_seed) if spec.jitter > 0 else None
    times = [first_at]
    for _ in range(count - 1):
        factor = 1.0 + spec.jitter * rng.uniform(-1.0, 1.0) if rng else 1.0
        times.append(times[-1] + gap * factor)
    return times
