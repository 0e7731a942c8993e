"""The full event sequence of one response, encoded once, each event stamped with when it is released.

A response's future is decided when it is created: its text, its events and their
times are a pure function of the request, the seed and its TimelineSpec. Polls and
streams only look at how much of it has been released by now. Because it is pure,
a durable store keeps the spec, not the events, and rebuilds them identically.

What a response says does not depend on which response says it: only its ids and
its timestamps do. So the events are compiled once per script (request, seed,
spec) into bytes with slots for those four values, and each response is one bytes
%-format of the compiled script. A thousand identical requests encode once.
"""

from __future__ import annotations

import random
import threading
from array import array
from dataclasses import asdict, dataclass, field
from functools import cache
from itertools import accumulate
from typing import Any, Literal

import orjson
from cachetools import LRUCache, cached

from mock_server.answer import answer_tokens, count_tokens, derived_id
from mock_server.config import Timing
from mock_server.event_log import EventLog
from mock_server.function_calls import PlannedCall, ToolCallSpec, argument_pieces, planned_calls
from mock_server.objects import (
    function_call_item,
    output_message,
    output_text,
    reasoning_item,
    response_echo,
    response_object,
    response_usage,
)
from mock_server.params import ResponseParams
from mock_server.sse import event_frame

Outcome = Literal["completed", "failed", "incomplete", "cancelled"]

COMPILED_BYTES_KEPT = 32 << 20
"""Compiled scripts are kept up to this size in all, least recently used first out: about 1,500 scripts
with 64-token answers, fewer with long answers or instructions. A bigger one is compiled per response."""


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
    tool_calls: tuple[ToolCallSpec, ...] = ()
    """Tools the scenario wants the model to call before it answers (see mock_server/function_calls.py)."""
    tool_rounds: int = 1
    """Model turns of a conversation that call tools; the turn after them answers."""
    reasoning_parts: int = 0
    """Summary parts of a reasoning item before the output (0: no reasoning item)."""
    reasoning_words: int = 12

    @classmethod
    @cache  # one per Timing of the config: asked for on every create
    def from_timing(cls, timing: Timing) -> TimelineSpec:
        return cls(timing.queue_seconds, timing.first_token_seconds, timing.tokens_per_second)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimelineSpec:
        """From `as_dict`, as a durable store keeps it (older copies lack the newer fields)."""
        calls = tuple(ToolCallSpec(**call) for call in data.get("tool_calls", ()))
        return cls(**{**data, "tool_calls": calls})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Script:
    """What a response says and when: everything it is made from except who it is."""

    params: ResponseParams
    seed: int
    answer_length: int
    spec: TimelineSpec
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The compiled-script cache hashes its key several times a lookup; the params nest, so hash them once.
        object.__setattr__(self, "_hash", hash((self.params, self.seed, self.answer_length, self.spec)))

    def __hash__(self) -> int:
        return self._hash

    def calls(self) -> tuple[PlannedCall, ...]:
        return planned_calls(self.params, self.spec.tool_calls, self.spec.tool_rounds, self.seed)

    def delta_count(self) -> int:
        """How many deltas this script's response streams, whatever their kind."""
        calls = self.calls()
        output = sum(len(argument_pieces(call.arguments)) for call in calls) if calls else self.answer_length
        return self.spec.reasoning_parts * self.spec.reasoning_words + output


@dataclass(slots=True)
class Timeline:
    """One response's events and the moments that decide its status."""

    log: EventLog
    started_at: float
    """When the response leaves `queued` (its `response.in_progress` event)."""
    finished_at: float
    """When its last event is released: from then on its status is `final_status`."""
    final_status: Outcome
    text: str
    """The text the backend produced: every delta it will ever release, joined."""
    final_json: bytes
    """The Response object in its final state, encoded."""
    _final: dict[str, Any] | None = field(default=None, init=False, repr=False)
    snapshots: dict[str, dict[str, Any]] | None = field(default=None, repr=False)
    """The Response object by status, as a recording showed it (None: made up by `response_object`)."""

    @property
    def final(self) -> dict[str, Any]:
        """The Response object in its final state (decoded when first asked for: most are never polled)."""
        if self._final is None:
            self._final = orjson.loads(self.final_json)
        return self._final


def build_timeline(script: Script, response_id: str, item_id: str, created_at: float) -> Timeline:
    compiled = compile_script(script)
    if compiled is None:
        # The script's own text holds a %: encode it for this response alone.
        compiled = _compile(script, _Stamps(response_id, item_id, created_at))
    return compiled.render(response_id, item_id, created_at)


def _compiled_size(compiled: CompiledTimeline | None) -> int:
    if compiled is None:
        return 1
    times = compiled.times
    return len(compiled.body) + len(compiled.final_json) + len(compiled.text) + times.itemsize * len(times)


@cached(LRUCache(COMPILED_BYTES_KEPT, getsizeof=_compiled_size), key=lambda script: script, lock=threading.Lock())
def compile_script(script: Script) -> CompiledTimeline | None:
    """The script's events with %-format fields for ids and timestamps; None if its own text holds a %."""
    # Slots are the format fields themselves, so no other % may appear; orjson encodes the dataclasses
    # whole, and every string that can reach the events is in the script.
    if b"%" in orjson.dumps(script):
        return None
    return _compile(script, _SLOTTED)


@dataclass(frozen=True, slots=True)
class _Stamps:
    """The values that differ between responses with one script."""

    response_id: str
    item_id: str
    created_at: float | None
    """None for slots: the creation and completion times are then format fields too."""

    def derived(self, prefix: str, index: int) -> str:
        if self.created_at is None:
            return f"%({prefix}{index})s"
        return derived_id(prefix, self.response_id, index)


_SLOTTED = _Stamps("%(r)s", "%(m)s", None)
# Raw JSON: a number's slot goes in without quotes.
_CREATED_AT_SLOT, _COMPLETED_AT_SLOT = orjson.Fragment(b"%(c)s"), orjson.Fragment(b"%(f)s")


@dataclass(frozen=True, slots=True)
class CompiledTimeline:
    body: bytes
    """Every frame, with %-format fields for the slots."""
    final_json: bytes
    """The final Response object, with the same fields."""
    times: array[float]
    """When each frame is released, in seconds (or polls) after creation. Shared: never changed."""
    started_after: float
    finished_after: float
    final_status: Outcome
    text: str
    item_slots: tuple[tuple[str, int], ...] = ()
    """(prefix, index) of the ids derived from the response id (function calls, reasoning)."""

    def render(self, response_id: str, item_id: str, created_at: float) -> Timeline:
        """This script's timeline for one response. Ids go in unescaped: IdFactory's are plain ASCII."""
        values = {
            b"r": response_id.encode(),
            b"m": item_id.encode(),
            b"c": b"%d" % int(created_at),
            b"f": b"%d" % int(created_at + self.finished_after),
        }
        for prefix, index in self.item_slots:
            values[b"%s%d" % (prefix.encode(), index)] = derived_id(prefix, response_id, index).encode()
        return Timeline(
            EventLog(self.body % values, self.times, origin=created_at),
            created_at + self.started_after,
            created_at + self.finished_after,
            self.final_status,
            self.text,
            self.final_json % values,
        )


def _compile(script: Script, stamps: _Stamps) -> CompiledTimeline:
    params, spec = script.params, script.spec
    calls = script.calls()
    reasoning = [
        answer_tokens(script.seed, params.model, params.input_text, f"reasoning {part}", spec.reasoning_words)
        for part in range(spec.reasoning_parts if spec.reasoning_words else 0)
    ]
    tokens = (
        []
        if calls
        else answer_tokens(script.seed, params.model, params.input_text, params.instructions, script.answer_length)
    )
    pieces = [argument_pieces(call.arguments) for call in calls]
    total = sum(map(len, reasoning)) + sum(map(len, pieces)) + len(tokens)
    kept = total if spec.outcome_after_deltas is None else min(total, spec.outcome_after_deltas)
    response_id = stamps.response_id
    started_at = spec.queue_seconds if params.background else 0.0
    delta_times = _delta_times(started_at + spec.first_token_seconds, kept, spec)
    finished_at = delta_times[-1] if delta_times else started_at + spec.first_token_seconds
    created_at: int | orjson.Fragment
    completed_at: int | orjson.Fragment
    if stamps.created_at is None:
        created_at, completed_at = _CREATED_AT_SLOT, _COMPLETED_AT_SLOT
    else:
        created_at, completed_at = int(stamps.created_at), int(stamps.created_at + finished_at)

    echo = response_echo(params)

    def snapshot(status: str, **terminal: Any) -> dict[str, Any]:
        return response_object(response_id, params, created_at=created_at, status=status, echo=echo, **terminal)

    out = _Emitter(delta_times, 0.0, kept, cut_short=spec.outcome != "completed")
    out.emit({"type": "response.created", "response": snapshot("queued" if params.background else "in_progress")})
    if params.background:
        out.emit({"type": "response.queued", "response": snapshot("queued")})
    out.now = started_at
    out.emit({"type": "response.in_progress", "response": snapshot("in_progress")})
    ending = "incomplete" if spec.outcome == "incomplete" else "completed"
    output: list[dict[str, Any]] = []
    slots: list[tuple[str, int]] = []
    text = ""
    if reasoning:
        slots.append(("rs_", 0))
        output.append(_stream_reasoning(out, stamps.derived("rs_", 0), len(output), reasoning, ending))
    for index, call in enumerate(calls):
        if out.stopped:
            break
        slots += [("fc_", index), ("call_", index)]
        ids = stamps.derived("fc_", index), stamps.derived("call_", index)
        output.append(_stream_call(out, ids, len(output), call, pieces[index], ending))
    if tokens and not out.stopped:
        message, text = _stream_message(out, stamps.item_id, len(output), tokens, ending)
        output.append(message)
    reasoning_tokens = min(kept, sum(map(len, reasoning)))
    usage = response_usage(count_tokens(params.input_text), kept, reasoning_tokens)
    out.now = finished_at
    if spec.outcome == "cancelled":
        # A cancel ends the stream where it stands: no closing events.
        final = snapshot("cancelled")
    elif spec.outcome == "failed":
        error = {"code": spec.error_code, "message": spec.error_message}
        final = snapshot("failed", error=error, usage=usage)
        out.emit({"type": "response.failed", "response": final})
    else:
        if spec.outcome == "completed":
            final = snapshot("completed", output=output, usage=usage, completed_at=completed_at)
        else:
            final = snapshot("incomplete", output=output, usage=usage, incomplete_reason=spec.incomplete_reason)
        out.emit({"type": f"response.{spec.outcome}", "response": final})
    body, final_json = b"".join(out.frames), orjson.dumps(final)
    if stamps.created_at is not None:
        # Rendered with a %-format like any compiled script, so its literal % are doubled.
        body, final_json = body.replace(b"%", b"%%"), final_json.replace(b"%", b"%%")
    return CompiledTimeline(
        body=body,
        final_json=final_json,
        times=array("d", accumulate(out.times, max)),  # never backwards, whatever the jitter
        started_after=started_at,
        finished_after=finished_at,
        final_status=spec.outcome,
        text=text,
        item_slots=tuple(slots),
    )


@dataclass(slots=True)
class _Emitter:
    """Frames and their release times as a script unfolds; deltas are released on `delta_times`, in order."""

    delta_times: list[float]
    now: float
    budget: int
    """Deltas that will ever be released (fewer than all when the response ends early)."""
    cut_short: bool
    """The response does not complete: the item its last delta belongs to gets no closing events (failed,
    cancelled) or incomplete ones, and no item follows it."""
    released: int = 0
    stopped: bool = False
    frames: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def emit(self, payload: dict[str, Any]) -> None:
        payload["sequence_number"] = len(self.frames)
        self.frames.append(event_frame(payload))
        self.times.append(self.now)

    def deltas(self, base: dict[str, Any], tokens: list[str]) -> list[str]:
        """Emit the tokens that will be released; returns them (all, unless the response is cut short here)."""
        released = tokens[: self.budget - self.released]
        self.frames.extend(_delta_frames(base, released, len(self.frames)))
        self.times.extend(self.delta_times[self.released : self.released + len(released)])
        self.released += len(released)
        if released:
            self.now = self.delta_times[self.released - 1]
        if self.cut_short and self.released == self.budget:
            self.stopped = True
        return released

    def closes(self, ending: str) -> str | None:
        """The status an item closes with, or None when it is not closed (a failed or cancelled ending)."""
        if not self.stopped:
            return "completed"
        return "incomplete" if ending == "incomplete" else None


def _stream_reasoning(
    out: _Emitter, item_id: str, output_index: int, parts: list[list[str]], ending: str
) -> dict[str, Any]:
    out.emit({"type": "response.output_item.added", "output_index": output_index, "item": reasoning_item(item_id, [])})
    summary: list[str] = []
    for summary_index, tokens in enumerate(parts):
        if out.stopped:
            break
        base = {"item_id": item_id, "output_index": output_index, "summary_index": summary_index}
        out.emit({"type": "response.reasoning_summary_part.added", **base, "part": _summary_text("")})
        text = "".join(out.deltas({"type": "response.reasoning_summary_text.delta", **base, "delta": ""}, tokens))
        summary.append(text)
        if out.closes(ending) is None:
            break
        out.emit({"type": "response.reasoning_summary_text.done", **base, "text": text})
        out.emit({"type": "response.reasoning_summary_part.done", **base, "part": _summary_text(text)})
    item = reasoning_item(item_id, [_summary_text(text) for text in summary])
    if out.closes(ending) is not None:
        out.emit({"type": "response.output_item.done", "output_index": output_index, "item": item})
    return item


def _stream_call(
    out: _Emitter, ids: tuple[str, str], output_index: int, call: PlannedCall, pieces: list[str], ending: str
) -> dict[str, Any]:
    item_id, call_id = ids
    added = function_call_item(item_id, call_id, call.name, "", "in_progress")
    out.emit({"type": "response.output_item.added", "output_index": output_index, "item": added})
    base = {"item_id": item_id, "output_index": output_index}
    arguments = "".join(out.deltas({"type": "response.function_call_arguments.delta", **base, "delta": ""}, pieces))
    status = out.closes(ending)
    item = function_call_item(item_id, call_id, call.name, arguments, status or "in_progress")
    if status is not None:
        out.emit({"type": "response.function_call_arguments.done", **base, "arguments": arguments})
        out.emit({"type": "response.output_item.done", "output_index": output_index, "item": item})
    return item


def _stream_message(
    out: _Emitter, item_id: str, output_index: int, tokens: list[str], ending: str
) -> tuple[dict[str, Any], str]:
    added = output_message(item_id, "in_progress", [])
    out.emit({"type": "response.output_item.added", "output_index": output_index, "item": added})
    part_base = {"item_id": item_id, "output_index": output_index, "content_index": 0}
    out.emit({"type": "response.content_part.added", **part_base, "part": output_text("")})
    delta = {"type": "response.output_text.delta", **part_base, "delta": "", "logprobs": []}
    text = "".join(out.deltas(delta, tokens))
    status = out.closes(ending)
    message = output_message(item_id, status or "in_progress", [output_text(text)])
    if status is not None:
        out.emit({"type": "response.output_text.done", **part_base, "text": text, "logprobs": []})
        out.emit({"type": "response.content_part.done", **part_base, "part": output_text(text)})
        out.emit({"type": "response.output_item.done", "output_index": output_index, "item": message})
    return message, text


def _summary_text(text: str) -> dict[str, str]:
    return {"type": "summary_text", "text": text}


def _delta_frames(base: dict[str, Any], tokens: list[str], first_sequence: int) -> list[bytes]:
    """Deltas' frames (`base` holds an empty "delta" and never a sequence number), byte for byte what
    `event_frame` makes of each one.

    They differ only in the token and the sequence number, so the rest is encoded once
    around placeholders instead of a dict and a JSON encoding per token. The split is
    safe: orjson escapes quotes inside ids, so the placeholders can only match the keys.
    """
    if not tokens:
        return []
    template = event_frame({**base, "sequence_number": 0})
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
