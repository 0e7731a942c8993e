"""Recorded answers: the responses of cassettes turned into response scripts the mock serves.

Each create (`POST .../responses`) of a cassette, together with the later requests about the same
response (polls, resumed streams), becomes one `RecordedAnswer`: its events byte for byte, with their
sequence numbers, when each was released, and the Response object as each status showed it. A match
(vcrpy's matchers, by vcrpy's names) hands it to the mock, which serves it under its own background
lifecycle: polls, streams and resumes are answered from the store, so every fault applies on top. Which
answer a create gets is `mock_server/playback.py`'s business.

What a recording lacks is filled in, and nothing it has is changed:
- a usage recorded before the API sent `input_tokens_details.cache_write_tokens` (which openai 3.x requires)
  gets it as 0, and only the events and snapshots that lacked it are encoded again (`amend`);
- times of a cassette without bgr's timings follow the mock's pacing (queue, first token, tokens/s);
- a response that was only polled gets events made from its snapshots, its text split into words;
- a response the recording never saw finish stays in its last recorded status.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import orjson

from mock_server.cassette import Interaction, load_cassette
from mock_server.event_log import EventLog
from mock_server.sse import event_frame
from mock_server.sse import frames_of as _frames_of
from mock_server.sse import payload_of as _payload
from mock_server.store import Recipe
from mock_server.timeline import Outcome, Timeline, TimelineSpec

if TYPE_CHECKING:  # vcrpy is imported only where a cassette is read (mock_server/cassette.py)
    from vcr.request import Request

__all__ = [
    "TERMINAL_EVENTS",
    "RecordedAnswer",
    "RecordedRecipe",
    "RecordedSchedule",
    "amend",
    "answers_of",
    "input_text",
    "recorded_prompt",
]

TERMINAL_EVENTS = {"response.completed": "completed", "response.failed": "failed", "response.incomplete": "incomplete"}
_TERMINAL = ("completed", "failed", "incomplete", "cancelled")
_WORD = re.compile(r"\s*\S+\s*|\s+")


def _input_text(body: Any) -> str:
    value = body.get("input", body.get("messages")) if isinstance(body, dict) else None  # Responses, or chat
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for item in value if isinstance(value, list) else ():
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return "\n".join(texts)


def _json_of(request: Request) -> Any:
    try:
        return orjson.loads(request.body or b"")
    except orjson.JSONDecodeError:
        return None


def input_text(request: Request) -> str:
    """The text of a create's input (a string, or the texts of its messages; a chat create's `messages`),
    joined by newlines."""
    return _input_text(_json_of(request))


# ---- what a recording says about one response -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """One response as recorded: its events, their times, and its snapshots by status."""

    source: str
    """`FILE#INDEX` of the create that made it, for errors and the journal."""
    response_id: str
    request: Request
    frames: tuple[bytes, ...]
    """Every event, byte for byte as first received, in sequence order from 0."""
    times: tuple[float, ...] | None
    """When each event was released, in seconds after the create; None: not recorded."""
    snapshots: dict[str, bytes]
    """The Response object as recorded for each status it was seen in (a poll's body or an event's `response`)."""
    final_status: str | None
    """`completed`, `failed`, `incomplete`, or None when the recording never saw it end."""
    made_up: bool = False
    """The events were made from polled snapshots: nothing was streamed."""

    def as_dict(self) -> dict[str, Any]:
        """Everything to rebuild it (a durable store keeps this)."""
        return {
            "source": self.source,
            "response_id": self.response_id,
            "request": {**self.request._to_dict(), "body": (self.request.body or b"").decode("utf-8", "replace")},
            "frames": [frame.decode("utf-8", "surrogateescape") for frame in self.frames],
            "times": self.times,
            "snapshots": {status: raw.decode() for status, raw in self.snapshots.items()},
            "final_status": self.final_status,
            "made_up": self.made_up,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedAnswer:
        from vcr.request import Request

        request = data["request"]
        return cls(
            source=data["source"],
            response_id=data["response_id"],
            request=Request(request["method"], request["uri"], request["body"], request["headers"]),
            frames=tuple(frame.encode("utf-8", "surrogateescape") for frame in data["frames"]),
            times=tuple(data["times"]) if data["times"] is not None else None,
            snapshots={status: raw.encode() for status, raw in data["snapshots"].items()},
            final_status=data["final_status"],
            made_up=data["made_up"],
        )

    def timeline(self, response_id: str, created_at: float, spec: TimelineSpec, recorded_pace: bool) -> Timeline:
        """This answer as one response's timeline: under `response_id`, from `created_at`.

        `recorded_pace`: release events at their recorded times (when there are any); otherwise by `spec`,
        which also carries a fault's ending (failed, incomplete, cancelled after N deltas).
        """
        frames, kinds = list(self.frames), [_event_type(frame) for frame in self.frames]
        final_status, final = self.final_status, self.snapshots.get(self.final_status or "")
        if spec.outcome != "completed":
            frames, kinds, final_status, final = self._ended_by(spec, frames, kinds)
        times = list(self.times[: len(frames)]) if recorded_pace and self.times is not None else None
        if times is None or len(times) < len(frames):
            times = _paced(kinds, spec)
        if response_id != self.response_id:
            old, new = self.response_id.encode(), response_id.encode()
            frames = [frame.replace(old, new) for frame in frames]
            final = final.replace(old, new) if final is not None else None
        last = max(times, default=0.0)
        finished = last if final_status is not None else math.inf
        started = next((times[i] for i, kind in enumerate(kinds) if kind == "response.in_progress"), finished)
        ends = array("Q", accumulate(map(len, frames)))
        log = EventLog(b"".join(frames), array("d", accumulate(times, max)), origin=created_at, ends=ends)
        snapshots = {
            status: orjson.loads(raw.replace(self.response_id.encode(), response_id.encode()))
            for status, raw in self.snapshots.items()
        }
        timeline = Timeline(
            log,
            created_at + started,
            created_at + finished,
            final_status or "completed",  # type: ignore[arg-type]
            _text(frames, kinds),
            final if final is not None else orjson.dumps(snapshots.get("in_progress") or snapshots.get("queued") or {}),
            snapshots=snapshots,
        )
        return timeline

    def _ended_by(
        self, spec: TimelineSpec, frames: list[bytes], kinds: list[str | None]
    ) -> tuple[list[bytes], list[str | None], str, bytes]:
        """The events up to the fault's last delta, then its ending in place of the recorded one."""
        deltas = [i for i, kind in enumerate(kinds) if kind is not None and kind.endswith(".delta")]
        keep = spec.outcome_after_deltas if spec.outcome_after_deltas is not None else len(deltas)
        stop = deltas[keep - 1] + 1 if 0 < keep <= len(deltas) else (deltas[0] if deltas and keep == 0 else len(frames))
        frames, kinds = frames[:stop], kinds[:stop]
        base = orjson.loads(self.snapshots.get("in_progress") or self.snapshots.get("queued") or b"{}")
        snapshot = {**base, "status": spec.outcome}
        if spec.outcome == "failed":
            snapshot["error"] = {"code": spec.error_code, "message": spec.error_message}
        elif spec.outcome == "incomplete":
            snapshot["incomplete_details"] = {"reason": spec.incomplete_reason}
        if spec.outcome != "cancelled":
            frames.append(
                event_frame({"type": f"response.{spec.outcome}", "response": snapshot, "sequence_number": len(frames)})
            )
            kinds.append(f"response.{spec.outcome}")
        return frames, kinds, spec.outcome, orjson.dumps(snapshot)

    @property
    def delta_count(self) -> int:
        return sum(1 for frame in self.frames if (kind := _event_type(frame)) is not None and kind.endswith(".delta"))


def _event_type(frame: bytes) -> str | None:
    payload = _payload(frame)
    kind = payload.get("type") if payload else None
    return kind if isinstance(kind, str) else None


def _text(frames: Sequence[bytes], kinds: Sequence[str | None]) -> str:
    pieces = []
    for frame, kind in zip(frames, kinds, strict=True):
        if kind == "response.output_text.delta":
            payload = _payload(frame) or {}
            pieces.append(str(payload.get("delta", "")))
    return "".join(pieces)


def _paced(kinds: Sequence[str | None], spec: TimelineSpec) -> list[float]:
    """Times by the mock's pacing: queued at once, in progress after the queue, deltas at the token rate."""
    gap = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
    now, first_delta, times = 0.0, True, []
    for kind in kinds:
        if kind == "response.in_progress":
            now = spec.queue_seconds
        elif kind is not None and kind.endswith(".delta"):
            now += spec.first_token_seconds if first_delta else gap
            first_delta = False
        times.append(now)
    return times


# ---- from interactions to answers ------------------------------------------------------------------


def amend(response: dict[str, Any]) -> bool:
    """Fill in what the API sends today and a recording predates; True when something was added."""
    usage = response.get("usage")
    details = usage.get("input_tokens_details") if isinstance(usage, dict) else None
    if isinstance(details, dict) and "cache_write_tokens" not in details:
        details["cache_write_tokens"] = 0
        return True
    return False


def _amended_snapshot(raw: bytes) -> bytes:
    body = _json_object(raw)
    return orjson.dumps(body) if body is not None and amend(body) else raw


def _amended_frame(frame: bytes) -> bytes:
    payload = _payload(frame)
    response = payload.get("response") if payload else None
    if payload is None or not isinstance(response, dict) or not amend(response):
        return frame
    head = frame[: frame.index(b"data:")]
    return head + b"data: " + orjson.dumps(payload) + frame[len(frame.rstrip(b"\r\n")) :]


@dataclass(slots=True)
class _Gathered:
    source: str
    request: Request
    started: float | None
    events: dict[int, tuple[bytes, float | None]] = field(default_factory=dict)
    snapshots: dict[str, bytes] = field(default_factory=dict)
    snapshot_times: dict[str, float | None] = field(default_factory=dict)

    def add_stream(self, interaction: Interaction) -> None:
        times = interaction.event_times
        offset = self._offset(interaction)
        for index, frame in enumerate(_frames_of(interaction.body)):
            payload = _payload(frame)
            sequence = payload.get("sequence_number") if payload else None
            if not isinstance(sequence, int) or sequence in self.events:
                continue
            at = offset + times[index] if offset is not None and times is not None and index < len(times) else None
            self.events[sequence] = (_amended_frame(frame), at)
            response = payload.get("response") if payload else None
            if isinstance(response, dict) and isinstance(response.get("status"), str):
                self._snapshot(response["status"], orjson.dumps(response), at)

    def add_snapshot(self, interaction: Interaction) -> None:
        body = _json_object(interaction.body)
        if body is not None and isinstance(body.get("status"), str):
            self._snapshot(body["status"], interaction.body, self._offset(interaction))

    def _snapshot(self, status: str, raw: bytes, at: float | None) -> None:
        self.snapshots.setdefault(status, _amended_snapshot(raw))
        self.snapshot_times.setdefault(status, at)

    def _offset(self, interaction: Interaction) -> float | None:
        if interaction.started is None or self.started is None:
            return None
        return interaction.started - self.started

    def answer(self, response_id: str) -> RecordedAnswer:
        sequences = sorted(self.events)
        contiguous = [n for i, n in enumerate(sequences) if n == i]
        if contiguous:
            frames = [self.events[n][0] for n in contiguous]
            times = [self.events[n][1] for n in contiguous]
            kinds = [_event_type(frame) for frame in frames]
            final = next((TERMINAL_EVENTS[k] for k in kinds if k in TERMINAL_EVENTS), None)
            if final is None:
                final = next((status for status in _TERMINAL if status in self.snapshots), None)
                closing = self.snapshots.get(final or "")
                if closing is not None:
                    frames += _made_up_events(closing, len(frames), after=frames)
                    times += [self.snapshot_times.get(final or "")] * (len(frames) - len(times))
            made_up = False
        else:
            frames, times, final = _made_up_from_snapshots(self.snapshots), [], None
            final = next((status for status in _TERMINAL if status in self.snapshots), None)
            times = _snapshot_times(frames, self.snapshot_times)
            made_up = True
        known = None if any(time is None for time in times) or not times else tuple(float(t) for t in times)  # type: ignore[arg-type]
        return RecordedAnswer(
            self.source, response_id, self.request, tuple(frames), known, dict(self.snapshots), final, made_up
        )


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _snapshot_times(frames: Sequence[bytes], seen: dict[str, float | None]) -> list[float | None]:
    """Made-up events are released when a poll first saw the status they lead to (created at 0)."""
    times: list[float | None] = []
    status_at = {"response.created": 0.0, "response.queued": 0.0}
    for frame in frames:
        kind = _event_type(frame) or ""
        if kind in status_at:
            times.append(status_at[kind])
        elif kind == "response.in_progress":
            times.append(seen.get("in_progress", next((seen[s] for s in _TERMINAL if s in seen), None)))
        else:
            times.append(next((seen[s] for s in _TERMINAL if s in seen), None))
    return times


def _made_up_from_snapshots(snapshots: dict[str, bytes]) -> list[bytes]:
    """Events for a response that was only polled: its lifecycle, then its output item by item."""
    final = next((snapshots[status] for status in _TERMINAL if status in snapshots), None)
    any_snapshot = final or snapshots.get("in_progress") or snapshots.get("queued") or b"{}"
    base = orjson.loads(any_snapshot)
    shell = {**base, "output": [], "usage": None, "completed_at": None}
    queued = orjson.loads(snapshots["queued"]) if "queued" in snapshots else {**shell, "status": "queued"}
    frames = [event_frame({"type": "response.created", "response": queued, "sequence_number": 0})]
    if base.get("background", True):
        frames.append(event_frame({"type": "response.queued", "response": queued, "sequence_number": 1}))
    if "in_progress" in snapshots or final is not None:
        progress = (
            orjson.loads(snapshots["in_progress"]) if "in_progress" in snapshots else {**shell, "status": "in_progress"}
        )
        frames.append(
            event_frame({"type": "response.in_progress", "response": progress, "sequence_number": len(frames)})
        )
    if final is not None:
        frames += _made_up_events(final, len(frames), after=[])
    return frames


def _made_up_events(final_raw: bytes, first_sequence: int, after: Sequence[bytes]) -> list[bytes]:
    """The output items of a final Response object as events, then its terminal event.

    `after`: events already recorded; items they opened are not opened again.
    """
    final = orjson.loads(final_raw)
    opened = {
        (_payload(frame) or {}).get("output_index")
        for frame in after
        if _event_type(frame) == "response.output_item.added"
    }
    events: list[dict[str, Any]] = []
    for index, item in enumerate(final.get("output") or []):
        if index in opened:
            continue
        events += _item_events(index, item)
    status = final.get("status")
    kind = f"response.{status}" if status in ("completed", "failed", "incomplete") else None
    if kind is not None:
        events.append({"type": kind, "response": final})
    return [event_frame({**event, "sequence_number": n}) for n, event in enumerate(events, first_sequence)]


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    item_id, kind = item.get("id"), item.get("type")
    events: list[dict[str, Any]] = []
    if kind == "message":
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress", "content": []},
            }
        )
        for content_index, part in enumerate(item.get("content") or []):
            text = part.get("text", "") if isinstance(part, dict) else ""
            base = {"item_id": item_id, "output_index": index, "content_index": content_index}
            events.append({"type": "response.content_part.added", **base, "part": {**part, "text": ""}})
            for word in _WORD.findall(text):
                events.append({"type": "response.output_text.delta", **base, "delta": word, "logprobs": []})
            events.append({"type": "response.output_text.done", **base, "text": text, "logprobs": []})
            events.append({"type": "response.content_part.done", **base, "part": part})
    elif kind == "function_call":
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress", "arguments": ""},
            }
        )
        base = {"item_id": item_id, "output_index": index}
        arguments = str(item.get("arguments", ""))
        events.append({"type": "response.function_call_arguments.delta", **base, "delta": arguments})
        events.append({"type": "response.function_call_arguments.done", **base, "arguments": arguments})
    else:
        events.append({"type": "response.output_item.added", "output_index": index, "item": item})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def _path(request: Request) -> str:
    return urlparse(request.uri).path.rstrip("/")


def _response_id_of(interaction: Interaction) -> str | None:
    if interaction.is_event_stream:
        for frame in _frames_of(interaction.body)[:1]:
            response = (_payload(frame) or {}).get("response")
            return response.get("id") if isinstance(response, dict) else None
        return None
    body = _json_object(interaction.body)
    value = body.get("id") if body else None
    return value if isinstance(value, str) and value.startswith("resp") else None


def answers_of(interactions: Sequence[Interaction], source: str) -> list[RecordedAnswer]:
    """One answer per create of the cassette that the upstream acknowledged (status 200)."""
    gathered: dict[str, _Gathered] = {}
    for index, interaction in enumerate(interactions):
        request, path = interaction.request, _path(interaction.request)
        if request.method == "POST" and path.endswith("/responses") and interaction.status == 200:
            response_id = _response_id_of(interaction)
            if response_id is None or response_id in gathered:
                continue
            gathered[response_id] = _Gathered(f"{source}#{index}", request, interaction.started)
            target = gathered[response_id]
        elif request.method == "GET" and interaction.status == 200 and path.rsplit("/", 1)[-1] in gathered:
            target = gathered[path.rsplit("/", 1)[-1]]
        else:
            continue
        if interaction.is_event_stream:
            target.add_stream(interaction)
        else:
            target.add_snapshot(interaction)
    return [found.answer(response_id) for response_id, found in gathered.items()]


@cache  # asked for by every scenario of a run
def recorded_prompt(paths: tuple[str, ...]) -> str:
    """The input text of the first recorded create: what a run asks for to be answered by the recording."""
    for path in paths:
        for answer in answers_of(load_cassette(path), path):
            return _input_text(_json_of(answer.request))
    raise ValueError(f"{', '.join(paths)}: no recorded response (a 200 answer to POST .../responses)")


# ---- serving them ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedRecipe(Recipe):
    """A response made from a recording: its recipe names the recorded answer instead of generating one."""

    answer: RecordedAnswer | None = None
    recorded_pace: bool = True

    def build(self) -> Timeline:
        assert self.answer is not None
        return self.answer.timeline(self.id, self.created_at, self.script.spec, self.recorded_pace)

    def schedule(self) -> RecordedSchedule:
        # The recording's own times (or the spec's pace), not a generated answer's: read off its timeline.
        timeline = self.build()
        log = timeline.log
        times = array("d", (log.visible_at(index) - self.created_at for index in range(len(log))))
        return RecordedSchedule(
            times, timeline.started_at - self.created_at, timeline.finished_at - self.created_at, timeline.final_status
        )

    def final_json(self) -> bytes:
        return self.build().final_json

    def snapshot_json(self, status: str) -> bytes | None:
        recorded = self.build().snapshots or {}
        return orjson.dumps(recorded[status]) if status in recorded else None


@dataclass(frozen=True, slots=True)
class RecordedSchedule:
    """When a recorded response's events are released and how it ends (a `timeline.Schedule`)."""

    times: array[float]
    started_after: float
    finished_after: float
    final_status: Outcome
