"""Each fault on in-memory data, no network: bytes out equal bytes in except where the fault means to change them."""

from __future__ import annotations

import pytest

from mock_server.faults import FAULT_TYPES, FaultSpecError, decode_fault
from mock_server.faults.base import Action, Chunk, Close, HangUp, Pause, RequestContext
from mock_server.timeline import TimelineSpec

FRAMES = [f'event: e\ndata: {{"sequence_number": {n}}}\n\n'.encode() for n in range(6)]


def run_filter(spec: dict, frames: list[bytes] = FRAMES) -> list[Action]:
    stream_filter = decode_fault(spec).stream_filter()
    out: list[Action] = []
    for number, frame in enumerate(frames):
        out += stream_filter.feed(Chunk(frame, number))
        if out and isinstance(out[-1], Close):
            break
    return out


def written(actions: list[Action]) -> bytes:
    return b"".join(action.data for action in actions if isinstance(action, Chunk))


def test_drop_after_events_sends_exactly_n_whole_events_then_closes() -> None:
    out = run_filter({"type": "drop_after_events", "events": 2})
    assert written(out) == b"".join(FRAMES[:2]) and out[-1] == Close()


def test_drop_after_bytes_cuts_mid_event() -> None:
    out = run_filter({"type": "drop_after_bytes", "bytes": len(FRAMES[0]) + 5})
    assert written(out) == FRAMES[0] + FRAMES[1][:5] and out[-1] == Close()


def test_reset_sends_rst_after_n_events() -> None:
    out = run_filter({"type": "reset", "after_events": 3})
    assert written(out) == b"".join(FRAMES[:3]) and out[-1] == Close(reset=True)


def test_stall_pauses_then_carries_on_with_every_byte() -> None:
    out = run_filter({"type": "stall", "after_events": 2, "seconds": 5})
    assert written(out) == b"".join(FRAMES)
    assert [a for a in out if isinstance(a, Pause)] == [Pause(5.0)]
    assert out.index(Pause(5.0)) == 2


def test_stall_can_close_after_the_stall() -> None:
    out = run_filter({"type": "stall", "after_events": 1, "seconds": 2, "close_after": True})
    assert written(out) == FRAMES[0] and out[-2:] == [Pause(2.0), Close()]


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_slice_writes_keeps_every_byte_in_order(size: int) -> None:
    out = run_filter({"type": "slice_writes", "size": size})
    assert written(out) == b"".join(FRAMES)
    assert all(len(a.data) <= size for a in out if isinstance(a, Chunk))


def test_sequence_gap_drops_one_event_only() -> None:
    out = run_filter({"type": "sequence_gap", "at_sequence": 2})
    assert written(out) == b"".join(FRAMES[:2] + FRAMES[3:])


def test_sequence_repeat_sends_one_event_twice() -> None:
    out = run_filter({"type": "sequence_repeat", "at_sequence": 4})
    assert written(out) == b"".join(FRAMES[:5] + FRAMES[4:])


def test_malformed_event_breaks_only_its_json() -> None:
    out = run_filter({"type": "malformed_event", "at_sequence": 1})
    chunks = [a.data for a in out if isinstance(a, Chunk)]
    assert chunks[0] == FRAMES[0] and chunks[2:] == FRAMES[2:]
    assert chunks[1] != FRAMES[1] and chunks[1].startswith(b"event: e\ndata: {") and chunks[1].endswith(b"\n\n")


def test_drop_after_seconds_passes_bytes_and_tells_the_sender_when() -> None:
    stream_filter = decode_fault({"type": "drop_after_seconds", "seconds": 3}).stream_filter()
    assert stream_filter.close_after_seconds == 3.0
    assert stream_filter.feed(Chunk(b"x")) == [Chunk(b"x")]


def test_http_error_429_carries_retry_headers() -> None:
    error = decode_fault({"type": "http_error", "status": 429, "retry_after": 1.2, "retry_after_ms": 1200}).intercept(
        RequestContext("GET", "/v1/responses/x", None)
    )
    assert error.status == 429 and error.headers == {"Retry-After": "2", "retry-after-ms": "1200"}
    assert set(error.envelope()["error"]) == {"message", "type", "param", "code"}


def test_expire_cursors_only_past_the_age() -> None:
    fault = decode_fault({"type": "expire_cursors", "max_age_seconds": 300})
    assert fault.intercept(RequestContext("GET", "/", None)) is None
    assert fault.intercept(RequestContext("GET", "/", 299.0)) is None
    error = fault.intercept(RequestContext("GET", "/", 301.0))
    assert error.status == 400 and "more than 5 minutes old" in error.message


def test_hang_hangs_up() -> None:
    assert decode_fault({"type": "hang", "seconds": 2}).intercept(RequestContext("GET", "/", None)) == HangUp(2.0)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "slow", "first_token_seconds": 2, "tokens_per_second": 5}, {"first_token_seconds": 2.0}),
        ({"type": "fail", "after_deltas": 3}, {"outcome": "failed", "outcome_after_deltas": 3}),
        ({"type": "incomplete", "after_deltas": 50}, {"outcome": "incomplete", "outcome_after_deltas": 10}),
        ({"type": "cancel_midway", "after_deltas": 4}, {"outcome": "cancelled", "outcome_after_deltas": 4}),
        ({"type": "background", "queued_polls": 2, "in_progress_polls": 3}, {"paced_by_polls": True}),
        ({"type": "background", "queue_seconds": 7}, {"queue_seconds": 7.0, "paced_by_polls": False}),
    ],
)
def test_timeline_shapers(spec: dict, expected: dict) -> None:
    shaped = decode_fault(spec).shape(TimelineSpec(), tokens=10)
    assert {key: getattr(shaped, key) for key in expected} == expected


def test_background_by_polls_ends_exactly_after_its_polls() -> None:
    shaped = decode_fault({"type": "background", "queued_polls": 2, "in_progress_polls": 3}).shape(TimelineSpec(), 10)
    assert shaped.queue_seconds == 2.0
    assert shaped.first_token_seconds + 9 / shaped.tokens_per_second == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"type": "drop_after_events", "events": -1}, "fault.events"),
        ({"type": "slice_writes", "size": 0}, "fault.size"),
        ({"type": "background", "queue_seconds": 1, "queued_polls": 1}, "fault"),
        ({"type": "http_error", "status": 418}, "fault.status"),
        ({"type": "stall", "seconds": "long"}, "fault.seconds"),
        ({"type": "reset", "after_events": True}, "fault.after_events"),
        ({"type": "nope"}, "fault.type"),
        ("drop", "fault"),
    ],
)
def test_bad_specs_name_the_field(spec: object, field: str) -> None:
    with pytest.raises(FaultSpecError) as raised:
        decode_fault(spec)
    assert raised.value.field == field


def test_every_fault_decodes_from_its_defaults_or_says_what_is_missing() -> None:
    for name in FAULT_TYPES:
        assert decode_fault({"type": name}).type == name
