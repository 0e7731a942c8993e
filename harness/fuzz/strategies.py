"""Hypothesis strategies that draw scenarios about resumption, as the plain data of a scenario file.

`scenario_data()` draws one scenario of suite `fuzz`, judged by `resume-exactly-once` and
`null-means-done`, covering what can happen while a background response streams:
- where the caller stops reading: `start: {stream: true, max_updates: k}`, then up to three
  `resume` steps, each with an optional `max_updates`, each optionally after a `restart`;
- where and how often the backend drops the connection: `drop_after_events` (after whole events),
  `drop_after_bytes` (mid-event), `times` 1 to 3, on any stream or only on resumes (`method: GET`);
- noise that must change nothing: `slice_writes` (1 to 64 bytes), a short `stall` (at most 2 scenario
  seconds, possibly closing the connection after it), a 429 or 503 once on a resume request.

Every scenario can finish: the script ends with enough unlimited `resume: {}` steps to outlast every
drop its rules can cause (a resume is a no-op once the token is null). A drop that may hit the create
lets the `response.created` event through, since before it the caller holds no token at all.

Resuming from an older token (`from: first`) breaks the contract on the caller's side (it promises
exactness from the last token only), so it is drawn only with `stale_resumes=True`, for exploring.

Shrinking heads towards few steps and no faults: lists shrink towards empty, optional parts towards
absent, flags towards false and numbers towards small.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from harness.conformance.runner import MODEL
from harness.conformance.scenarios import DEFAULT_PROMPT
from harness.conformance.tool import WEATHER
from mock_server import ServerConfig
from mock_server.answer import IdFactory
from mock_server.clock import Clock
from mock_server.objects import response_object
from mock_server.params import parse_response_params
from mock_server.sse import event_frame

__all__ = [
    "CREATED_FRAME_MAX_BYTES",
    "FUZZ_CHECKS",
    "FUZZ_SUITE",
    "GENERATED_DESCRIPTION",
    "STREAM_EVENTS",
    "backend_rules",
    "created_frame_bytes",
    "fuzz_scenario",
    "resume_plans",
    "scenario_data",
    "scenario_id",
]

FUZZ_SUITE = "fuzz"
FUZZ_CHECKS = ("resume-exactly-once", "null-means-done")
GENERATED_DESCRIPTION = "Drawn by bgr fuzz."
STREAM_EVENTS = ServerConfig().answer_tokens + 9
"""Events of a whole background stream: the deltas and nine others (created ... completed)."""
STREAM_BYTES = 17_000
"""A little more than a whole stream (about 16.4 KB): a drop past it never happens."""
CREATED_FRAME_MARGIN = 200
"""Room over the measured frame for what may grow it: a longer model name, a later `created_at`."""


def created_frame_bytes() -> int:
    """The size of the `response.created` frame the mock sends a run's background stream, as it encodes it.

    The request offers the harness's tool, as every agent that takes it does: the frame echoes `tools`."""
    config = ServerConfig()
    ids = IdFactory(config.seed)
    request = {"model": MODEL, "input": DEFAULT_PROMPT, "background": True, "stream": True, "tools": [WEATHER]}
    params = parse_response_params(request)
    snapshot = response_object(ids.next("resp_"), params, created_at=int(Clock().now()), status="queued")
    return len(event_frame({"type": "response.created", "response": snapshot, "sequence_number": 0}))


CREATED_FRAME_MAX_BYTES = created_frame_bytes() + CREATED_FRAME_MARGIN
"""A drop on the create cuts no sooner: it must let the `response.created` frame through whole."""
UNCUT_SPAN = 20
"""Start cuts drawn past the whole stream (about a quarter of them) read it all: no cut."""
MAX_STALL_TENTHS = 20
MAX_RETRY_AFTER_MS = 50
MAX_RESUMES = 3
MAX_TIMES = 3
ENDS_A_STREAM = frozenset({"drop_after_events", "drop_after_bytes", "http_error"})
"""Faults after which a stream call may end before the response does (a closing stall too)."""


@dataclass(frozen=True, slots=True)
class ResumePlan:
    max_updates: int | None
    origin: str
    """`last`, or with stale resumes `last-non-null` / `first`."""
    restart_before: bool


def resume_plans(*, stale_resumes: bool = False) -> st.SearchStrategy[ResumePlan]:
    origins = st.sampled_from(("last", "last-non-null", "first")) if stale_resumes else st.just("last")
    return st.builds(
        ResumePlan,
        max_updates=st.none() | st.integers(1, STREAM_EVENTS),
        origin=origins,
        restart_before=st.booleans(),
    )


def _drop_rule() -> st.SearchStrategy[dict[str, Any]]:
    # Every strategy is built here, once, not inside the draw: a strategy made anew on each draw is validated
    # (and its function's source read) anew each time, which cost more CPU than the draw itself.
    flags = st.booleans()
    drop_bytes = {True: st.integers(0, STREAM_BYTES), False: st.integers(CREATED_FRAME_MAX_BYTES, STREAM_BYTES)}
    drop_events = {True: st.integers(0, STREAM_EVENTS), False: st.integers(1, STREAM_EVENTS)}
    times = st.integers(1, MAX_TIMES)

    @st.composite
    def draw_rule(draw: st.DrawFn) -> dict[str, Any]:
        resumes_only = draw(flags)
        if draw(flags):
            fault: dict[str, Any] = {"type": "drop_after_bytes", "bytes": draw(drop_bytes[resumes_only])}
        else:
            fault = {"type": "drop_after_events", "events": draw(drop_events[resumes_only])}
        rule: dict[str, Any] = {"match": {"method": "GET"}} if resumes_only else {}
        return {**rule, "times": draw(times), "faults": [fault]}

    return draw_rule()


def _noise_rule() -> st.SearchStrategy[dict[str, Any]]:
    times = st.integers(1, MAX_TIMES)
    sliced = st.builds(
        lambda size, n: {"times": n, "faults": [{"type": "slice_writes", "size": size}]}, st.integers(1, 64), times
    )
    # after_events >= 1: a stall that closes must still let `response.created` through.
    stalled = st.builds(
        lambda after, tenths, close, n: {
            "times": n,
            "faults": [{"type": "stall", "after_events": after, "seconds": tenths / 10, "close_after": close}],
        },
        st.integers(1, STREAM_EVENTS),
        st.integers(0, MAX_STALL_TENTHS),
        st.booleans(),
        times,
    )
    # retry_after_ms on 503 too: without it the SDK waits half a real second, for no more coverage.
    refused = st.builds(
        lambda status, ms: {
            "match": {"method": "GET"},
            "times": 1,
            "faults": [{"type": "http_error", "status": status, "retry_after_ms": ms}],
        },
        st.sampled_from((429, 503)),
        st.integers(1, MAX_RETRY_AFTER_MS),
    )
    return st.one_of(sliced, stalled, refused)


def backend_rules() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Drops first, then noise; each list shrinks towards empty."""
    return st.builds(
        lambda drops, noise: [*drops, *noise],
        st.lists(_drop_rule(), max_size=2),
        st.lists(_noise_rule(), max_size=2),
    )


def scenario_data(*, stale_resumes: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Scenario data (a scenario file as a dict, its version aside) about cutting, dropping and resuming one stream."""

    # Hypothesis shrinks towards the shortest, then smallest, sequence of choices, so what is drawn first
    # matters most: the faults, then the resumes, then the caller's first cut. A cut with no fault is
    # simpler than a drop, and a failure that needs no fault ends up with none.
    rules_drawn = backend_rules()
    resumes_drawn = st.lists(resume_plans(stale_resumes=stale_resumes), max_size=MAX_RESUMES)
    # A number, not an option: shrinking can then trade a drop for a cut at the same place.
    start_cuts = st.integers(1, STREAM_EVENTS + UNCUT_SPAN)

    @st.composite
    def draw_scenario(draw: st.DrawFn) -> dict[str, Any]:
        rules = draw(rules_drawn)
        resumes = draw(resumes_drawn)
        start_cut = draw(start_cuts)
        return fuzz_scenario(start_cut if start_cut < STREAM_EVENTS else None, resumes, rules)

    return draw_scenario()


def fuzz_scenario(start_cut: int | None, resumes: list[ResumePlan], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario for a plan, with the closing resumes that let it finish and an id from its content."""
    script: list[dict[str, Any]] = [{"start": {"stream": True} | ({"max_updates": start_cut} if start_cut else {})}]
    for plan in resumes:
        if plan.restart_before:
            script.append({"restart": {}})
        params: dict[str, Any] = {}
        if plan.max_updates is not None:
            params["max_updates"] = plan.max_updates
        if plan.origin != "last":
            params["from"] = plan.origin
        script.append({"resume": params})
    # Each unlimited stream call either finishes the response or is ended by a fault application.
    unlimited = (start_cut is None) + sum(plan.max_updates is None for plan in resumes)
    script += [{"resume": {}} for _ in range(max(0, _stream_endings(rules) + 1 - unlimited))]
    data: dict[str, Any] = {"id": "", "suite": FUZZ_SUITE, "description": GENERATED_DESCRIPTION}
    data |= {"rules": rules, "script": script, "checks": list(FUZZ_CHECKS)}
    data["id"] = scenario_id(data)
    return data


def scenario_id(data: dict[str, Any]) -> str:
    """`fuzz-<hash>` of what the scenario does: the same content always gets the same id (and prompt marker)."""
    content = orjson.dumps({"rules": data["rules"], "script": data["script"]}, option=orjson.OPT_SORT_KEYS)
    return f"fuzz-{hashlib.blake2b(content, digest_size=4).hexdigest()}"


def _stream_endings(rules: list[dict[str, Any]]) -> int:
    """How many stream calls the rules can end early, at most."""
    total = 0
    for rule in rules:
        fault = rule["faults"][0]
        if fault["type"] in ENDS_A_STREAM or (fault["type"] == "stall" and fault["close_after"]):
            total += rule["times"]
    return total
