"""Fuzzing the mock's own resumption and SSE framing: it must never repeat, skip or reorder an event.

Real server, real sockets. A stateful test keeps a model beside the mock (each response's event
log, each reader's position in it) and judges every reader against it; two more tests cover many
concurrent readers of one live response, and every cursor of a finished one.
"""

from __future__ import annotations

import functools
import http.client
import json
import string
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from mock_server import ServerConfig, ServerThread, Timing
from tests.raw_http import send

TIME_SCALE = 0.01
"""One scenario second lasts 10 ms: responses live for tens of milliseconds, long enough to be read live."""
READ_TIMEOUT_SECONDS = 10.0
"""Every response here ends within a second; a read that waits this long is a hang."""
FAULTS_HEADER = "X-Bgr-Faults"
TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})
STATUS_RANK = {"queued": 0, "in_progress": 1} | dict.fromkeys(TERMINAL, 2)
CLOSING_EVENTS = frozenset(f"response.{status}" for status in ("completed", "failed", "incomplete"))

Event = dict[str, Any]


# ---- a strict SSE client that can hang up after any event ------------------------------------


def parse_frame(block: bytes) -> Event:
    """One `event: T` + `data: JSON` block, exactly as CONTRACT.md section 2 frames it."""
    lines = block.split(b"\n")
    assert len(lines) == 2 and b"\r" not in block, f"a frame is two LF-terminated lines, got {block[:200]!r}"
    event_line, data_line = lines
    assert event_line.startswith(b"event: ") and data_line.startswith(b"data: "), f"bad frame {block[:200]!r}"
    payload: Event = json.loads(data_line[6:])
    assert payload["type"] == event_line[7:].decode(), f"event line and data disagree in {block[:200]!r}"
    return payload


class SseFramer:
    """Reassembles frames from pieces cut anywhere (mid-line, mid-UTF-8 character)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, piece: bytes) -> list[Event]:
        self._buffer += piece
        *blocks, self._buffer = self._buffer.split(b"\n\n")
        return [parse_frame(block) for block in blocks]

    @property
    def pending(self) -> bytes:
        return self._buffer


@dataclass(frozen=True)
class StreamRead:
    status: int
    events: list[Event]
    ended: bool
    """The server ended the body; False when we hung up first."""
    raw: bytes
    """Every byte received (for an error, its JSON body)."""


def read_stream(
    server: ServerThread,
    method: str,
    path: str,
    *,
    limit: int | None,
    slice_size: int | None = None,
    faults: list[dict[str, Any]] | None = None,
    json_body: Any = None,
) -> StreamRead:
    """Stream `path`, keep the first `limit` events (all when None), then hang up."""
    all_faults = [*(faults or []), *([{"type": "slice_writes", "size": slice_size}] if slice_size else [])]
    headers = {FAULTS_HEADER: json.dumps(all_faults)} if all_faults else {}
    body = None
    if json_body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(json_body).encode()
    connection = http.client.HTTPConnection(server.server.host, server.server.port, timeout=READ_TIMEOUT_SECONDS)
    try:
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        if reply.status != 200:
            return StreamRead(reply.status, [], True, reply.read())
        framer, events, pieces, ended = SseFramer(), [], [], False
        while limit is None or len(events) < limit:
            piece = reply.read1(1 << 16)  # whatever one write (one chunk) brought, however small
            if not piece:
                ended = True
                break
            pieces.append(piece)
            events.extend(framer.feed(piece))
        if ended:
            assert framer.pending == b"", f"the stream ended mid-frame: {framer.pending[:200]!r}"
        return StreamRead(200, events if limit is None else events[:limit], ended, b"".join(pieces))
    finally:
        connection.close()


def stream_path(response_id: str, cursor: int | str | None) -> str:
    path = f"/v1/responses/{response_id}?stream=true"
    return path if cursor is None else f"{path}&starting_after={quote(str(cursor), safe='')}"


def assert_contiguous(events: list[Event], first: int) -> None:
    """Sequence numbers first, first+1, ...: no gap, no repeat, no reordering."""
    numbers = [event["sequence_number"] for event in events]
    assert numbers == list(range(first, first + len(events))), f"expected from {first}, got {numbers}"


def assert_log_shape(log: list[Event]) -> None:
    assert_contiguous(log, 0)
    assert log and log[0]["type"] == "response.created"


def create_body(tag: str) -> dict[str, Any]:
    return {"model": "gpt-4o", "input": f"fuzz {tag}", "background": True}


# ---- the model ----------------------------------------------------------------------------------


@dataclass
class ResponseModel:
    log: list[Event]
    """Every event the response will ever emit (ground truth); only a cancel shortens it."""
    statuses: list[str] = field(default_factory=list)
    """Statuses seen by creates, polls and cancels, in order."""


@dataclass
class ReaderModel:
    response_id: str
    start: int
    """Sequence number of the first event this reader asked for."""
    received: list[Event] = field(default_factory=list)

    @property
    def cursor(self) -> int:
        """The last sequence number it holds: what it resumes after."""
        return self.start + len(self.received) - 1


# Short reads (weighted twice) return while the response is still live; None reads to the end and waits for it.
limits = st.one_of(st.none(), st.integers(0, 8), st.integers(1, 4), st.integers(9, 60))
slice_sizes = st.none() | st.integers(1, 64)
# Lifetimes from 0 to ~0.45 s real: many responses are still live for a few steps after their create.
timing_faults = st.tuples(
    st.sampled_from([0.0, 5.0, 20.0]),  # queue seconds
    st.sampled_from([0.0, 5.0]),  # first token seconds
    st.sampled_from([0.0, 2.0, 10.0, 40.0]),  # tokens per second
).map(
    lambda t: [
        {"type": "background", "queue_seconds": t[0]},
        {"type": "slow", "first_token_seconds": t[1], "tokens_per_second": t[2]},
    ]
)
endings = st.none() | st.builds(
    lambda kind, after: [{"type": kind, "after_deltas": after}],
    st.sampled_from(["fail", "incomplete", "cancel_midway"]),
    st.integers(0, 30),
)


class ResumptionMachine(RuleBasedStateMachine):
    """Readers that hang up anywhere and resume from any cursor never see a repeat, gap or reorder."""

    responses = Bundle("responses")
    readers = Bundle("readers")
    cursors = Bundle("cursors")

    def __init__(self) -> None:
        super().__init__()
        self.server: ServerThread | None = None
        self.models: dict[str, ResponseModel] = {}
        self.reader_models: list[ReaderModel] = []
        # Reads still running on a thread, by reader: their streams stay open while later rules act.
        self.pending: dict[int, Future[StreamRead]] = {}
        self.pool = ThreadPoolExecutor(max_workers=8)

    # -- set-up and the real system's side

    @initialize(target=responses, answer_tokens=st.integers(1, 40), timing=timing_faults, ending=endings)
    def start_server(
        self, answer_tokens: int, timing: list[dict[str, Any]], ending: list[dict[str, Any]] | None
    ) -> str:
        background = Timing(queue_seconds=1.0, first_token_seconds=0.5, tokens_per_second=100.0)
        config = ServerConfig(answer_tokens=answer_tokens, time_scale=TIME_SCALE, background=background)
        self.server = ServerThread(config).start()
        # A first response, so that a run whose swarm disables `create` still has something to read.
        return self.create_response(timing, ending, None)

    def teardown(self) -> None:
        try:
            for index in list(self.pending):
                self.reader(index)  # judge what is still in flight before the server goes
        finally:
            self.pool.shutdown(wait=True)
            if self.server is not None:
                self.server.stop()

    @property
    def mock(self) -> ServerThread:
        assert self.server is not None
        return self.server

    def truth(self, response_id: str) -> list[Event]:
        return self.mock.ground_truth(response_id)["events"]  # type: ignore[no-any-return]

    def reader(self, index: int) -> ReaderModel:
        """A reader from the bundle; a read of it still in flight is waited for and judged first."""
        in_flight = self.pending.pop(index, None)
        if in_flight is not None:
            self.judge(self.reader_models[index], in_flight.result(timeout=2 * READ_TIMEOUT_SECONDS))
        return self.reader_models[index]

    def add_reader(self, reader: ReaderModel) -> int:
        self.reader_models.append(reader)
        return len(self.reader_models) - 1

    def read(
        self, index: int, limit: int | None, slice_size: int | None, in_background: bool, cursorless: bool = False
    ) -> None:
        """Resume a reader after its cursor; judge what came at once, or when the background read is joined.

        `cursorless`: a reader still at -1 sends no `starting_after` at all (a full replay, like -1).
        """
        reader = self.reader(index)
        cursor = None if cursorless and reader.cursor == -1 else reader.cursor
        path = stream_path(reader.response_id, cursor)
        call = functools.partial(read_stream, self.mock, "GET", path, limit=limit, slice_size=slice_size)
        if in_background:
            self.pending[index] = self.pool.submit(call)
        else:
            self.judge(reader, call())

    def judge(self, reader: ReaderModel, got: StreamRead) -> None:
        assert got.status == 200, got.raw[:300]
        first = reader.cursor + 1
        # A resume from N starts at N+1, and carries on without gap or repeat.
        assert_contiguous(got.events, first)
        reader.received.extend(got.events)
        log = self.models[reader.response_id].log
        assert got.events == log[first : first + len(got.events)]
        if got.ended:
            # A stream ends only with its log: the reader now holds all of it, and the log is final.
            assert self.truth(reader.response_id) == log
            assert reader.received == log[reader.start :]
        event("stream ended" if got.ended else "reader hung up")

    def see_status(self, model: ResponseModel, status: str) -> None:
        assert status in STATUS_RANK
        if model.statuses:
            previous = model.statuses[-1]
            assert STATUS_RANK[status] >= STATUS_RANK[previous], f"status went back from {previous} to {status}"
            if previous in TERMINAL:
                assert status == previous, f"a terminal status changed: {previous} -> {status}"
        model.statuses.append(status)

    # -- rules

    @rule(
        target=responses,
        timing=timing_faults,
        ending=endings,
        stream_limit=st.none() | st.integers(1, 6),
        slice_size=slice_sizes,
    )
    def create(
        self,
        timing: list[dict[str, Any]],
        ending: list[dict[str, Any]] | None,
        stream_limit: int | None,
        slice_size: int | None,
    ) -> str:
        return self.create_response(timing, ending, stream_limit, slice_size)

    def create_response(
        self,
        timing: list[dict[str, Any]],
        ending: list[dict[str, Any]] | None,
        stream_limit: int | None,
        slice_size: int | None = None,
    ) -> str:
        faults = timing + (ending or [])
        body = create_body(str(len(self.models)))
        if stream_limit is None:
            reply = send(
                "POST", f"{self.mock.base_url}/responses", json_body=body, headers={FAULTS_HEADER: json.dumps(faults)}
            )
            assert reply.status == 200, reply.body[:300]
            snapshot = reply.json()
            response_id: str = snapshot["id"]
            self.models[response_id] = ResponseModel(self.truth(response_id), [snapshot["status"]])
        else:
            # A streamed create, read for `stream_limit` events: the creating stream is a reader too
            # (kept out of the readers bundle, since a rule feeds one bundle only).
            path = "/v1/responses"
            got = read_stream(
                self.mock,
                "POST",
                path,
                limit=stream_limit,
                slice_size=slice_size,
                faults=faults,
                json_body={**body, "stream": True},
            )
            assert got.status == 200 and got.events, got.raw[:300]
            response_id = got.events[0]["response"]["id"]
            self.models[response_id] = ResponseModel(self.truth(response_id))
            self.judge(self.reader_models[self.add_reader(ReaderModel(response_id, 0))], got)
        assert_log_shape(self.models[response_id].log)
        return response_id

    @rule(
        target=readers,
        response_id=responses,
        limit=st.integers(0, 8),
        slice_size=slice_sizes,
        in_background=st.booleans(),
        cursorless=st.booleans(),
    )
    def open_reader(
        self, response_id: str, limit: int, slice_size: int | None, in_background: bool, cursorless: bool
    ) -> int:
        # A reader starts with a short read and hangs up, so that resuming it has something left to get.
        index = self.add_reader(ReaderModel(response_id, 0))
        self.read(index, limit, slice_size, in_background, cursorless)
        return index

    @rule(reader=readers, limit=limits, slice_size=slice_sizes, in_background=st.booleans())
    def resume(self, reader: int, limit: int | None, slice_size: int | None, in_background: bool) -> None:
        self.read(reader, limit, slice_size, in_background)

    @rule(target=cursors, reader=readers)
    def remember_cursor(self, reader: int) -> tuple[str, int]:
        # Always a value (-1 for a reader holding nothing): bundle sizes must not depend on timing, or replays diverge.
        model = self.reader(reader)
        return (model.response_id, model.cursor)

    @rule(target=readers, cursor=cursors, limit=limits, slice_size=slice_sizes, in_background=st.booleans())
    def resume_from_cursor(
        self, cursor: tuple[str, int], limit: int | None, slice_size: int | None, in_background: bool
    ) -> int:
        # A fresh client that only knows a cursor someone else saw.
        response_id, after = cursor
        index = self.add_reader(ReaderModel(response_id, after + 1))
        self.read(index, limit, slice_size, in_background)
        return index

    @rule(response_id=responses)
    def poll(self, response_id: str) -> None:
        reply = send("GET", f"{self.mock.base_url}/responses/{response_id}")
        assert reply.status == 200, reply.body[:300]
        snapshot, model = reply.json(), self.models[response_id]
        status = snapshot["status"]
        self.see_status(model, status)
        event(f"poll saw {status}")
        if status in TERMINAL:
            assert self.truth(response_id) == model.log
            if model.log[-1]["type"] == f"response.{status}":
                assert snapshot == model.log[-1]["response"], "the poll and the closing event disagree"
            else:
                assert status == "cancelled" and model.log[-1]["type"] not in CLOSING_EVENTS

    @rule(response_id=responses)
    def cancel(self, response_id: str) -> None:
        self.cancel_and_check(response_id)

    @rule(target=readers, response_id=responses, slice_size=slice_sizes)
    def cancel_under_open_stream(self, response_id: str, slice_size: int | None) -> int:
        # That stream must end cleanly, exactly where the cancel ended the log.
        index = self.add_reader(ReaderModel(response_id, 0))
        self.read(index, None, slice_size, in_background=True, cursorless=True)
        time.sleep(0.005)  # time for the request to reach the server over loopback
        self.cancel_and_check(response_id)
        return index

    def cancel_and_check(self, response_id: str) -> None:
        reply = send("POST", f"{self.mock.base_url}/responses/{response_id}/cancel")
        assert reply.status == 200, reply.body[:300]
        model, status = self.models[response_id], reply.json()["status"]
        assert status in TERMINAL
        self.see_status(model, status)
        after = self.truth(response_id)
        # A cancel ends the log where it stands: it may shorten the log, never change what is there.
        assert after == model.log[: len(after)]
        if status == "cancelled":
            assert not any(payload["type"] in CLOSING_EVENTS for payload in after), "a cancelled log goes on to its end"
        else:
            assert after == model.log, "a finished response's log changed on cancel"
        event("cancel cut the log" if len(after) < len(model.log) else "cancel left the log whole")
        model.log = after

    @rule(milliseconds=st.integers(0, 10))
    def wait(self, milliseconds: int) -> None:
        # Let live responses move on between reads.
        time.sleep(milliseconds / 1000)

    # -- invariants

    @invariant()
    def readers_hold_slices_of_their_logs(self) -> None:
        for reader in self.reader_models:
            assert_contiguous(reader.received, reader.start)
            log = self.models[reader.response_id].log
            assert reader.received == log[reader.start : reader.start + len(reader.received)]


# One bug at a time: shrinking a live system is slow, and several bugs at once shrink for minutes.
ResumptionMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=20, deadline=None, report_multiple_bugs=False
)
TestResumption = ResumptionMachine.TestCase


# ---- many readers of one live response -------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_mock() -> Iterator[ServerThread]:
    config = ServerConfig(answer_tokens=30, time_scale=TIME_SCALE, background=Timing())
    with ServerThread(config) as server:
        yield server


segment = st.tuples(st.integers(0, 12), slice_sizes)
"""One connection of a reader: events to take before hanging up, and how its writes are sliced."""


def read_with_resumes(server: ServerThread, response_id: str, plan: list[tuple[int, int | None]]) -> list[Event]:
    """Hang up after each segment of the plan and resume from the last event held; finally read to the end."""
    received: list[Event] = []
    # The last connection reads to the end, with the last segment's slicing.
    for limit, slice_size in [*plan[:-1], (None, plan[-1][1])]:
        cursor = received[-1]["sequence_number"] if received else None
        got = read_stream(server, "GET", stream_path(response_id, cursor), limit=limit, slice_size=slice_size)
        assert got.status == 200, got.raw[:300]
        assert_contiguous(got.events, len(received))
        received.extend(got.events)
        if limit is None:
            assert got.ended
    return received


@settings(max_examples=10, deadline=None)
@given(
    plans=st.lists(st.lists(segment, min_size=1, max_size=4), min_size=2, max_size=8),
    queue_seconds=st.sampled_from([0.0, 2.0, 5.0]),
    tokens_per_second=st.sampled_from([10.0, 50.0, 400.0]),
)
def test_concurrent_readers_all_get_the_whole_log(
    fuzz_mock: ServerThread, plans: list[list[tuple[int, int | None]]], queue_seconds: float, tokens_per_second: float
) -> None:
    timing = [
        {"type": "slow", "tokens_per_second": tokens_per_second},
        {"type": "background", "queue_seconds": queue_seconds},
    ]
    reply = send(
        "POST",
        f"{fuzz_mock.base_url}/responses",
        json_body=create_body("many"),
        headers={FAULTS_HEADER: json.dumps(timing)},
    )
    response_id = reply.json()["id"]
    truth = fuzz_mock.ground_truth(response_id)["events"]
    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        results = list(pool.map(lambda plan: read_with_resumes(fuzz_mock, response_id, plan), plans))
    for received in results:
        assert received == truth


# ---- every cursor of a finished response ---------------------------------------------------


@pytest.fixture(scope="module")
def finished(fuzz_mock: ServerThread) -> tuple[str, list[Event]]:
    """A response that is complete the moment it is created (instant timing)."""
    reply = send("POST", f"{fuzz_mock.base_url}/responses", json_body=create_body("finished"))
    assert reply.json()["status"] == "completed"
    response_id = reply.json()["id"]
    return response_id, fuzz_mock.ground_truth(response_id)["events"]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), slice_size=slice_sizes)
def test_replay_from_any_cursor_is_the_exact_tail(
    fuzz_mock: ServerThread, finished: tuple[str, list[Event]], data: st.DataObject, slice_size: int | None
) -> None:
    response_id, events = finished
    cursor = data.draw(st.integers(-1, len(events) + 5), label="cursor")
    got = read_stream(fuzz_mock, "GET", stream_path(response_id, cursor), limit=None, slice_size=slice_size)
    assert got.status == 200 and got.ended
    assert got.events == events[cursor + 1 :]
    if cursor >= len(events) - 1:
        assert got.raw == b""


def assert_cursor_rejected(reply_status: int, body: bytes) -> None:
    assert reply_status == 400, body[:300]
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == "starting_after"


not_integers = (
    st.from_regex(r"-?[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True)
    | st.from_regex(r"[0-9]{0,3}[eE][0-9]{1,2}", fullmatch=True)
    | st.text(alphabet=string.ascii_letters + "-.,:;!?#/ ", max_size=12)
    | st.sampled_from(["", "-", "0x10", "null", "true", "NaN", "inf", "[1]"])
)


@settings(max_examples=40, deadline=None)
@given(cursor=st.integers(max_value=-2).map(str) | not_integers)
def test_invalid_cursors_are_400(fuzz_mock: ServerThread, finished: tuple[str, list[Event]], cursor: str) -> None:
    got = read_stream(fuzz_mock, "GET", stream_path(finished[0], cursor), limit=None)
    assert_cursor_rejected(got.status, got.raw)


# Found by this fuzzer: int() took "1_0" as 10, " 3" as 3 and Arabic-Indic digits; now a regression test.
@pytest.mark.parametrize("cursor", ["1_0", " 3", "\u0663"])
def test_cursor_must_be_plain_ascii_digits(
    fuzz_mock: ServerThread, finished: tuple[str, list[Event]], cursor: str
) -> None:
    got = read_stream(fuzz_mock, "GET", stream_path(finished[0], cursor), limit=None)
    assert_cursor_rejected(got.status, got.raw)


# Found by this fuzzer: the digits-only regex let a 4301-digit cursor reach int(), which refused it (a 500).
@pytest.mark.parametrize("cursor", ["9" * 4301, "-" + "9" * 4301])
def test_a_cursor_too_long_for_int_is_not_a_server_error(
    fuzz_mock: ServerThread, finished: tuple[str, list[Event]], cursor: str
) -> None:
    got = read_stream(fuzz_mock, "GET", stream_path(finished[0], cursor), limit=None)
    # Either answer is fine: past the end (an empty replay) or a 400 naming the cursor; a 500 is not.
    if got.status == 200:
        assert got.raw == b""
    else:
        assert_cursor_rejected(got.status, got.raw)
