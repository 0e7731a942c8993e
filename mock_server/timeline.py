"""The full event sequence of one response, encoded once, each event stamped with when it is released.

A response's future is decided when it is created: its text, its events and their
times are a pure function of the request, the seed and its TimelineSpec. Polls and
streams only look at how much of it has been released by now. Because it is pure,
a durable store keeps the spec, not the events, and rebuilds them identically.

What a response says does not depend on which response says it: only its ids and
its timestamps do. So the events are compiled once per script (request, seed,
spec) into bytes with slots for those values, and each response is one bytes
%-format of the compiled script. A thousand identical requests encode once.

Nor does a text answer depend on the prompt, but for the answer's words and the input
token count. So each model, flag set, tool set and spec has a shape: its events encoded
once with holes for the text and the deltas. A new prompt fills the holes with
pre-encoded pieces in one join; a prompt asked for again is compiled and kept. Tool
calls and reasoning say things made from the prompt (arguments, summaries), so a
response with them has no shape: its script is compiled whole.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache
from itertools import accumulate
from operator import attrgetter
from typing import Any, Literal, Protocol

import orjson

from mock_server.answer import answer_tokens, count_tokens, derived_id
from mock_server.byte_template import ByteTemplate, TemplateBuilder
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
from mock_server.sized_cache import SizedLRU, cached_by_size
from mock_server.sse import event_frame, tokens_json

Outcome = Literal["completed", "failed", "incomplete", "cancelled"]

COMPILED_BYTES_KEPT = 32 << 20
"""Compiled scripts are kept up to this size in all, least recently used first out: about 1,500 scripts
with 64-token answers, fewer with long answers or instructions. A bigger one is compiled per response.
A script with a shape is kept from the second response that asks for it: one-off prompts only fill
their shape. One without (tool calls, reasoning) is kept from its first."""
SHAPE_BYTES_KEPT = 8 << 20
"""Shapes (a script's events without its answer) are kept up to this size: one per model, flags, tools
and timeline spec in use, so a few dozen in a load test."""


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
        # A script keys two caches, hashed several times a lookup; the params nest, so hash them once.
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
    if compile_script.cache.lookup(script) is None:
        shape = _shape_of(script)
        if shape is not None and compile_script.first_sight(script):
            # A prompt not seen before, and maybe never again: rendered straight from its shape.
            return shape.render(_kept_tokens(script), response_id, item_id, created_at)
    return compiled_timeline(script, response_id, item_id, created_at).render(response_id, item_id, created_at)


def compiled_timeline(script: Script, response_id: str, item_id: str, created_at: float) -> CompiledTimeline:
    """The script's compiled events, shared when they can be; else encoded for this one response."""
    compiled = compile_script(script)
    if compiled is None:
        # The script's own text holds a %: encode it for this response alone.
        compiled = _compile(script, _Stamps(response_id, item_id, created_at))
    return compiled


def _compiled_size(compiled: CompiledTimeline | _Shape | None) -> int:
    if compiled is None:
        return 1
    return compiled.size


def _has_shape(script: Hashable) -> bool:
    """Whether a script's first response can do without compiling it (the cache's second sight)."""
    assert isinstance(script, Script)
    return _shape_of(script) is not None


@cached_by_size(COMPILED_BYTES_KEPT, _compiled_size, second_sight=_has_shape)
def compile_script(script: Script) -> CompiledTimeline | None:
    """The script's events with %-format fields for ids and timestamps; None if its own text holds a %.

    Filled into the shape of every script that differs from it only in its prompt: the answer's
    words go in pre-encoded, so a new prompt costs its tokens and a few joins, not an encoding.
    A script without a shape (tool calls, reasoning) is encoded whole.
    """
    shape = _shape_of(script)
    if shape is not None:
        return shape.fill(_kept_tokens(script))
    # Slots are the format fields themselves, so no other % may appear; orjson encodes the dataclasses
    # whole, and every string that can reach the events is in the script.
    if b"%" in orjson.dumps(script):
        return None
    return _compile(script, _SLOTTED)


def schedule(script: Script, response_id: str, item_id: str, created_at: float) -> Schedule:
    """When the script's events are released and how it ends, without compiling its answer."""
    return _shape_of(script) or compiled_timeline(script, response_id, item_id, created_at)


class Schedule(Protocol):
    @property
    def times(self) -> array[float]:
        """When each event is released, after creation."""

    @property
    def started_after(self) -> float: ...

    @property
    def finished_after(self) -> float: ...

    @property
    def final_status(self) -> Outcome: ...


_SHAPES: SizedLRU[_Shape | None] = SizedLRU(SHAPE_BYTES_KEPT, lambda shape: 1 if shape is None else shape.size)
_SHAPE_FIELDS = attrgetter(*(f.name for f in fields(ResponseParams) if f.name != "input_text"))
"""Every field of the params but the prompt (all of them, whatever fields are added: tools, tool_choice,
the conversation's tool loop, echoed settings): what a shape depends on, with the spec (faults and rules)."""


_LAST_SHAPE: tuple[Script | None, _Shape | None] = (None, None)
"""The last script asked about, and its shape: a create asks for its schedule, then for its first render."""


def _shape_of(script: Script) -> _Shape | None:
    global _LAST_SHAPE
    last, shape = _LAST_SHAPE
    if last is script:
        return shape
    shape = _shape_lookup(script)
    _LAST_SHAPE = (script, shape)
    return shape


def _shape_lookup(script: Script) -> _Shape | None:
    params = script.params
    input_tokens = count_tokens(params.input_text)
    key = (_SHAPE_FIELDS(params), script.answer_length, script.spec, input_tokens)
    kept = _SHAPES.lookup(key)
    if kept is not None:
        return kept[0]
    shape = _script_shape(Script(replace(params, input_text=""), 0, script.answer_length, script.spec), input_tokens)
    _SHAPES.keep(key, shape)
    return shape


def _script_shape(script: Script, input_tokens: int) -> _Shape | None:
    """Everything a script's events are besides its answer: `script` has no prompt, and its seed is 0.

    None when there is no such thing: tool calls' arguments and reasoning summaries are made from the
    seed and the prompt (whether a call happens is not: the tools, tool_choice and spec decide it, and
    they are in the shape's key), or the script's text holds a %.
    """
    if script.calls() or script.spec.reasoning_parts:
        return None
    # Slots are the format fields themselves, so no other % may appear; orjson encodes the dataclasses
    # whole, and every string that can reach the events is in the script (answer words hold no %).
    if b"%" in orjson.dumps(script):
        return None
    encoding = _encode(script, _SLOTTED, input_tokens, shaped=True)
    return _Shape(
        body=_shape_template(encoding.body, encoding.answer_deltas),
        final_json=_shape_template(encoding.final_json),
        times=encoding.times,
        started_after=encoding.started_after,
        finished_after=encoding.finished_after,
        final_status=script.spec.outcome,
    )


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
_SLOT_FIELDS = {name: b"%%(%s)s" % name for name in (b"r", b"m", b"c", b"f")}
"""The slots of `_slot_values` as themselves: what a compiled script keeps for each response to fill."""
# Raw JSON: a number's slot goes in without quotes.
_CREATED_AT_SLOT, _COMPLETED_AT_SLOT = orjson.Fragment(b"%(c)s"), orjson.Fragment(b"%(f)s")
# The answer's slots in a shape. NUL cannot appear raw in anything orjson encodes (it escapes every
# control character), so splitting on it finds these and nothing else.
_TEXT_SLOT = orjson.Fragment(b"\x00T\x00")
_DELTAS_SLOT = b"\x00D\x00"


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

    @property
    def size(self) -> int:
        return len(self.body) + len(self.final_json) + len(self.text)

    def values(self, response_id: str, item_id: str, created_at: float) -> dict[bytes, bytes]:
        values = _slot_values(response_id, item_id, created_at, self.finished_after)
        for prefix, index in self.item_slots:
            values[b"%s%d" % (prefix.encode(), index)] = derived_id(prefix, response_id, index).encode()
        return values

    def render(self, response_id: str, item_id: str, created_at: float) -> Timeline:
        """This script's timeline for one response."""
        values = self.values(response_id, item_id, created_at)
        return Timeline(
            EventLog(self.body % values, self.times, origin=created_at),
            created_at + self.started_after,
            created_at + self.finished_after,
            self.final_status,
            self.text,
            self.final_json % values,
        )


def _slot_values(response_id: str, item_id: str, created_at: float, finished_after: float) -> dict[bytes, bytes]:
    """What fills the slots for one response. Ids go in unescaped: IdFactory's are plain ASCII."""
    return {
        b"r": response_id.encode(),
        b"m": item_id.encode(),
        b"c": b"%d" % int(created_at),
        b"f": b"%d" % int(created_at + finished_after),
    }


@dataclass(frozen=True, slots=True)
class _DeltaPieces:
    """Deltas' frames around their tokens: frame i is `prefix + token JSON + suffixes[i]`.

    They differ only in the token and the sequence number, so the rest is encoded once. The split
    is safe: orjson escapes quotes inside ids, so `"delta":""` can only match the key.
    """

    prefix: bytes
    suffixes: tuple[bytes, ...]

    @classmethod
    def around(cls, base: dict[str, Any], first_sequence: int, count: int) -> _DeltaPieces:
        """`base` is a delta event with an empty "delta" and no sequence number."""
        template = event_frame({**base, "sequence_number": 0})
        head, tail = template.split(b'"delta":""', 1)
        middle, end = tail.rsplit(b'"sequence_number":0', 1)
        numbered = middle + b'"sequence_number":'
        return cls(
            head + b'"delta":', tuple(numbered + b"%d" % n + end for n in range(first_sequence, first_sequence + count))
        )

    def frames(self, tokens: list[str]) -> list[bytes]:
        return [self.prefix + token + suffix for token, suffix in zip(tokens_json(tokens), self.suffixes, strict=True)]


_NO_DELTAS = _DeltaPieces(b"", ())


@dataclass(frozen=True, slots=True)
class _Shape:
    """A script's events with its answer left out: templates whose holes are the ids, times, text and tokens."""

    body: ByteTemplate
    final_json: ByteTemplate
    times: array[float]
    started_after: float
    finished_after: float
    final_status: Outcome

    @property
    def size(self) -> int:
        return self.body.size + self.final_json.size + self.times.itemsize * len(self.times)

    def fill(self, tokens: list[str]) -> CompiledTimeline:
        """The script compiled: its answer in, its ids and times still %-format fields."""
        text = "".join(tokens)
        values = {**_SLOT_FIELDS, b"T": orjson.dumps(text)}
        return CompiledTimeline(
            body=self.body.fill(values, tokens_json(tokens)),
            final_json=self.final_json.fill(values),
            times=self.times,
            started_after=self.started_after,
            finished_after=self.finished_after,
            final_status=self.final_status,
            text=text,
        )

    def render(self, tokens: list[str], response_id: str, item_id: str, created_at: float) -> Timeline:
        """`self.fill(tokens).render(...)` in one pass: every hole filled, then one join."""
        values = _slot_values(response_id, item_id, created_at, self.finished_after)
        text = "".join(tokens)
        values[b"T"] = orjson.dumps(text)
        return Timeline(
            EventLog(self.body.fill(values, tokens_json(tokens)), self.times, origin=created_at),
            created_at + self.started_after,
            created_at + self.finished_after,
            self.final_status,
            text,
            self.final_json.fill(values),
        )


def _shape_template(text: bytes, deltas: _DeltaPieces = _NO_DELTAS) -> ByteTemplate:
    """A shape's bytes as `_encode` leaves them (NUL around the text's and the deltas' slots) as a template."""
    builder = TemplateBuilder()
    for index, piece in enumerate(text.split(b"\x00")):
        if index % 2 == 0:
            builder.text(piece)
        elif piece == b"T":
            builder.hole(b"T")
        else:
            builder.frames(deltas.prefix, deltas.suffixes)
    return builder.build()


def _kept_tokens(script: Script) -> list[str]:
    """The deltas a script with a shape releases: its answer, cut where a failed/incomplete/cancelled ending falls."""
    params, after = script.params, script.spec.outcome_after_deltas
    tokens = answer_tokens(script.seed, params.model, params.input_text, params.instructions, script.answer_length)
    return tokens if after is None else tokens[:after]


def _compile(script: Script, stamps: _Stamps) -> CompiledTimeline:
    """The script's events encoded as they are, answer and all: the reference a filled shape must equal."""
    encoding = _encode(script, stamps, count_tokens(script.params.input_text))
    body, final_json = encoding.body, encoding.final_json
    if stamps.created_at is not None:
        # Rendered with a %-format like any compiled script, so its literal % are doubled.
        body, final_json = body.replace(b"%", b"%%"), final_json.replace(b"%", b"%%")
    return CompiledTimeline(
        body=body,
        final_json=final_json,
        times=encoding.times,
        started_after=encoding.started_after,
        finished_after=encoding.finished_after,
        final_status=script.spec.outcome,
        text=encoding.text,
        item_slots=encoding.item_slots,
    )


@dataclass(frozen=True, slots=True)
class _AnswerSlot:
    """A shape's answer: `count` deltas whose words come later."""

    count: int

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True, slots=True)
class _Encoding:
    body: bytes
    final_json: bytes
    times: array[float]
    started_after: float
    finished_after: float
    text: str
    """The answer's text ("" in a shape: there it is a slot)."""
    item_slots: tuple[tuple[str, int], ...]
    answer_deltas: _DeltaPieces
    """In a shape, the answer's deltas around their words (what fills the deltas' slot)."""


def _encode(script: Script, stamps: _Stamps, input_tokens: int, *, shaped: bool = False) -> _Encoding:
    """Every event of a script. `shaped`: its answer is left out (the script has neither tool calls nor
    reasoning), the deltas are one slot and the text another."""
    params, spec = script.params, script.spec
    calls = () if shaped else script.calls()
    reasoning = [
        answer_tokens(script.seed, params.model, params.input_text, f"reasoning {part}", spec.reasoning_words)
        for part in range(spec.reasoning_parts if spec.reasoning_words and not shaped else 0)
    ]
    tokens: list[str] | _AnswerSlot
    if shaped:
        tokens = _AnswerSlot(script.answer_length)
    elif calls:
        tokens = []
    else:
        tokens = answer_tokens(script.seed, params.model, params.input_text, params.instructions, script.answer_length)
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
    usage = response_usage(input_tokens, kept, reasoning_tokens)
    out.now = finished_at
    if spec.outcome == "cancelled":
        # A cancel ends the stream where it stands: no closing events. Like a failure, it keeps the output so far.
        final = snapshot("cancelled", output=output)
    elif spec.outcome == "failed":
        error = {"code": spec.error_code, "message": spec.error_message}
        final = snapshot("failed", output=output, error=error, usage=usage)
        out.emit({"type": "response.failed", "response": final})
    else:
        if spec.outcome == "completed":
            final = snapshot("completed", output=output, usage=usage, completed_at=completed_at)
        else:
            final = snapshot("incomplete", output=output, usage=usage, incomplete_reason=spec.incomplete_reason)
        out.emit({"type": f"response.{spec.outcome}", "response": final})
    return _Encoding(
        body=b"".join(out.frames),
        final_json=orjson.dumps(final),
        times=array("d", accumulate(out.times, max)),  # never backwards, whatever the jitter
        started_after=started_at,
        finished_after=finished_at,
        text=text,
        item_slots=tuple(slots),
        answer_deltas=out.answer_deltas,
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
    sequence: int = 0
    """The next event's sequence number (a shape's deltas slot is one frame for many events)."""
    frames: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    answer_deltas: _DeltaPieces = _NO_DELTAS

    def emit(self, payload: dict[str, Any]) -> None:
        payload["sequence_number"] = self.sequence
        self.sequence += 1
        self.frames.append(event_frame(payload))
        self.times.append(self.now)

    def deltas(self, base: dict[str, Any], tokens: list[str]) -> list[str]:
        """Emit the tokens that will be released; returns them (all, unless the response is cut short here)."""
        released = tokens[: self.budget - self.released]
        self.frames.extend(_delta_frames(base, released, self.sequence))
        self._release(len(released))
        return released

    def answer_slot(self, base: dict[str, Any], count: int) -> None:
        """A shape's answer: the deltas that will be released as one slot, and the pieces around their words."""
        count = min(count, self.budget - self.released)
        self.answer_deltas = _DeltaPieces.around(base, self.sequence, count)
        self.frames.append(_DELTAS_SLOT)
        self._release(count)

    def _release(self, count: int) -> None:
        self.times.extend(self.delta_times[self.released : self.released + count])
        self.sequence += count
        self.released += count
        if count:
            self.now = self.delta_times[self.released - 1]
        if self.cut_short and self.released == self.budget:
            self.stopped = True

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
    out: _Emitter, item_id: str, output_index: int, tokens: list[str] | _AnswerSlot, ending: str
) -> tuple[dict[str, Any], str]:
    """The answer's message; in a shape (`tokens` a slot) its text is a slot too, and "" is returned."""
    added = output_message(item_id, "in_progress", [])
    out.emit({"type": "response.output_item.added", "output_index": output_index, "item": added})
    part_base = {"item_id": item_id, "output_index": output_index, "content_index": 0}
    out.emit({"type": "response.content_part.added", **part_base, "part": output_text("")})
    delta = {"type": "response.output_text.delta", **part_base, "delta": "", "logprobs": []}
    said: Any  # the text as the events say it: a str, or a shape's slot (raw JSON)
    if isinstance(tokens, _AnswerSlot):
        out.answer_slot(delta, tokens.count)
        text, said = "", _TEXT_SLOT
    else:
        text = said = "".join(out.deltas(delta, tokens))
    status = out.closes(ending)
    message = output_message(item_id, status or "in_progress", [output_text(said)])
    if status is not None:
        out.emit({"type": "response.output_text.done", **part_base, "text": said, "logprobs": []})
        out.emit({"type": "response.content_part.done", **part_base, "part": output_text(said)})
        out.emit({"type": "response.output_item.done", "output_index": output_index, "item": message})
    return message, text


def _summary_text(text: str) -> dict[str, str]:
    return {"type": "summary_text", "text": text}


def _delta_frames(base: dict[str, Any], tokens: list[str], first_sequence: int) -> list[bytes]:
    """Deltas' frames (`base` holds an empty "delta" and never a sequence number), byte for byte what
    `event_frame` makes of each one."""
    if not tokens:
        return []
    return _DeltaPieces.around(base, first_sequence, len(tokens)).frames(tokens)


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
