"""Hand-built histories for the check tests: a small builder, and one answer with known pieces.

Every fixture is a plain `History`, the same shape the runner records: calls on the caller's side,
journal entries and truths on the server's. Times are scenario seconds; journal times sit on an
epoch-like origin, as the mock's clock gives them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.conformance.history import Call, History, ServerRecord, ToolExecution, Update

RID = "resp_main0001"
"""The main response: the first one a `POST /v1/responses` created."""
PROMPT = "Compare object-oriented, functional, and procedural programming paradigms. [bgr:test:0000]"
TEXT = (
    "Object-oriented code bundles state with behaviour. "
    "Functional code passes values through pure functions. "
    "Procedural code runs steps in order."
)
PIECES: tuple[str, ...] = tuple(TEXT[i : i + 12] for i in range(0, len(TEXT), 12))
"""TEXT in twelve deltas, each occurring exactly once in it (so a misplaced one is unambiguous)."""
T0 = 1_700_000_000.0
"""Scenario epoch seconds of the first request."""

UpdateSpec = tuple[str, str | None, str]
"""(text, token, kind) of one update; the builder gives it a time."""


class _Last:
    """Sentinel: the call leaves the caller with its last update's token (or its input token)."""


LAST = _Last()


def token(sequence: int, response_id: str = RID) -> str:
    """A position token, serialized as the Python agent would: a JSON object."""
    return json.dumps({"response_id": response_id, "sequence_number": sequence})


def sized_token(size: int) -> str:
    """An opaque token of exactly `size` bytes (a state blob, as a wrapping token would be)."""
    prefix, suffix = '{"state":"', '"}'
    return prefix + "s" * (size - len(prefix) - len(suffix)) + suffix


def deltas(pieces: Sequence[str], first_sequence: int, *, end: bool = False) -> list[UpdateSpec]:
    """Text updates with rising sequence tokens; `end` adds the final update with a null token."""
    specs: list[UpdateSpec] = [
        (piece, token(first_sequence + n), "response.output_text.delta") for n, piece in enumerate(pieces)
    ]
    if end:
        specs.append(("", None, "response.completed"))
    return specs


def opening(first_sequence: int = 0) -> list[UpdateSpec]:
    """The updates before any text: created, queued, in_progress (each with its token)."""
    kinds = ("response.created", "response.queued", "response.in_progress")
    return [("", token(first_sequence + n), kind) for n, kind in enumerate(kinds)]


def truth(text: str = TEXT, final_status: str = "completed", at_creation: str = "queued") -> dict[str, Any]:
    return {"text": text, "final_status": final_status, "status_at_creation": at_creation, "events": []}


FOLLOW_UP = "resp_follow0001"
"""The tool loop's follow-up: the response that got the tool's output and answers."""
CALL_ID = "call_paris0001"
PARIS = '{"city":"Paris"}'
PARIS_WEATHER = "Paris: foggy, 1°C"


def function_call(call_id: str = CALL_ID, arguments: str = PARIS) -> dict[str, str]:
    return {"call_id": call_id, "name": "get_weather", "arguments": arguments}


def tool_output(call_id: str = CALL_ID, output: str = PARIS_WEATHER) -> dict[str, str]:
    return {"call_id": call_id, "output": output}


def execution(
    call_id: str | None = CALL_ID, arguments: str = PARIS, *, instance: int = 0, call: int = 1
) -> ToolExecution:
    """One run of the harness's tool, as the runner records it."""
    return ToolExecution("get_weather", arguments, PARIS_WEATHER, instance, call, 1.0 + call, call_id)


@dataclass
class Builder:
    """Accumulates calls and journal entries; `build()` freezes them into a History."""

    text: str = TEXT
    final_status: str = "completed"
    token_budget_bytes: int | None = None
    tool_executions: list[ToolExecution] = field(default_factory=list)
    finished_at_creation: bool = False
    """The backend finished the response before answering its create (the immediate case)."""
    scenario: str = "test-scenario"
    calls: list[Call] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)
    truths: dict[str, dict[str, Any]] = field(default_factory=dict)
    instance: int = 0
    clock: float = 0.0
    """Caller-side scenario time at which the next call starts."""

    # --- the server's side -------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        at: float,
        status: int | None = 200,
        response_id: str | None = None,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Builder:
        self.journal.append(
            {
                "index": len(self.journal),
                "method": method,
                "path": path,
                "query": dict(query or {}),
                "status": status,
                "response_id": response_id,
                "received_at": T0 + at,
                "body": dict(body or {}),
                "faults": [],
                "notes": [],
                "headers": {"user-agent": "OpenAI/Python 2.8.0"},
            }
        )
        return self

    def create(
        self,
        *,
        at: float = 0.0,
        status: int = 200,
        response_id: str | None = RID,
        stream: bool = False,
        has_input: bool = True,
        text: str | None = None,
        final_status: str | None = None,
    ) -> Builder:
        """A `POST /v1/responses`; an accepted one records its response and its truth."""
        accepted = status < 400
        body = {
            "model": "gpt-4o",
            "background": True,
            "stream": stream,
            "store": True,
            "has_input": has_input,
            "input_preview": PROMPT if has_input else "",
            "input_items": 1,
        }
        self.request(
            "POST", "/v1/responses", at=at, status=status, response_id=response_id if accepted else None, body=body
        )
        if accepted and response_id is not None:
            ending = self.final_status if final_status is None else final_status
            at_creation = ending if self.finished_at_creation else "queued"
            self.truths[response_id] = truth(self.text if text is None else text, ending, at_creation)
        return self

    def tool_turn(
        self,
        *,
        at: float,
        response_id: str,
        calls: Sequence[dict[str, str]] = (),
        outputs: Sequence[dict[str, str]] = (),
        previous: str | None = None,
        text: str = "",
    ) -> Builder:
        """A turn of a tool loop: a create whose truth holds the model's calls or the outputs it was given."""
        self.create(at=at, response_id=response_id, text=text)
        self.truths[response_id].update(
            function_calls=list(calls), tool_outputs=list(outputs), previous_response_id=previous
        )
        return self

    def poll(self, *, at: float, response_id: str = RID, status: int = 200) -> Builder:
        """A plain `GET /v1/responses/{id}` (not a stream)."""
        return self.request("GET", f"/v1/responses/{response_id}", at=at, status=status, response_id=response_id)

    def polls(self, gaps: Sequence[float], *, start: float = 0.0, response_id: str = RID) -> Builder:
        """Polls whose request times are `start` plus the running sum of `gaps`."""
        at = start
        for gap in gaps:
            at += gap
            self.poll(at=at, response_id=response_id)
        return self

    def stream_get(self, *, at: float, starting_after: int | None = None, response_id: str = RID) -> Builder:
        """A `GET /v1/responses/{id}?stream=true` (a resume), optionally with a cursor."""
        query = {"stream": "true"}
        if starting_after is not None:
            query["starting_after"] = str(starting_after)
        return self.request("GET", f"/v1/responses/{response_id}", at=at, response_id=response_id, query=query)

    # --- the caller's side -------------------------------------------------------------

    def restart(self) -> Builder:
        self.instance += 1
        return self

    def call(
        self,
        step: str,
        *,
        stream: bool = False,
        updates: Sequence[UpdateSpec] = (),
        text: str = "",
        token_in: str | _Last | None = LAST,
        token_out: str | _Last | None = LAST,
        sent_prompt: bool | None = None,
        status: str | None = None,
        error: str | None = None,
        cut: bool = False,
        asked: dict[str, Any] | None = None,
    ) -> Builder:
        """One call. A non-streaming call's `text` becomes its single reply update (none if it raised).

        `token_in` defaults to the previous call's token (None for `start`); `token_out` to the
        last update's token (for a non-streaming call, or one without updates: its input token).
        """
        previous = self.calls[-1].token_out if self.calls else None
        given_in = (None if step == "start" else previous) if isinstance(token_in, _Last) else token_in
        started = self.clock + 0.1
        specs = list(updates)
        if not stream:
            # As the adapters record it: one reply update, none when the call raised.
            reply_token = given_in if isinstance(token_out, _Last) else token_out
            specs = [] if error is not None else [(text, reply_token, "response")]
        built = tuple(
            Update(started + 0.05 * (n + 1), piece, piece_token, kind)
            for n, (piece, piece_token, kind) in enumerate(specs)
        )
        given_out = (built[-1].token if built else given_in) if isinstance(token_out, _Last) else token_out
        ended = (built[-1].at if built else started) + 0.05
        self.clock = ended
        self.calls.append(
            Call(
                index=len(self.calls),
                step=step,
                stream=stream,
                sent_prompt=step == "start" if sent_prompt is None else sent_prompt,
                token_in=given_in,
                started_at=started,
                ended_at=ended,
                agent_instance=self.instance,
                updates=built,
                token_out=given_out,
                status=status,
                error=error,
                cut=cut,
                asked=dict(asked or {}),
            )
        )
        return self

    def build(self) -> History:
        return History(
            scenario=self.scenario,
            agent="fixture",
            seed=7,
            time_scale=0.02,
            calls=tuple(self.calls),
            server=ServerRecord(tuple(self.journal), dict(self.truths)),
            token_budget_bytes=self.token_budget_bytes,
            tool_executions=tuple(self.tool_executions),
        )
