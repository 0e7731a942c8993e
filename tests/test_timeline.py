"""The timeline builder: pure, deterministic, and its fast paths equal the plain encoding."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.params import ResponseParams
from mock_server.sse import event_frame, parse_frames
from mock_server.timeline import TimelineSpec, _delta_frames, build_timeline

PARAMS = ResponseParams("gpt-4o", "hi", None, True, True, True, {}, None, None, None, None)
PART = {"item_id": 'msg_"quoted"\\%d%s%', "output_index": 0, "content_index": 0}


@settings(max_examples=300)
@given(tokens=st.lists(st.text(), max_size=20), first=st.integers(0, 10_000))
def test_templated_delta_frames_equal_event_frame(tokens: list[str], first: int) -> None:
    expected = [
        event_frame({"type": "response.output_text.delta", **PART, "delta": t, "logprobs": [], "sequence_number": n})
        for n, t in enumerate(tokens, first)
    ]
    assert _delta_frames(PART, tokens, first) == expected


@given(
    tokens=st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=30),
    outcome=st.sampled_from(["completed", "failed", "incomplete", "cancelled"]),
    after=st.none() | st.integers(0, 30),
    jitter=st.floats(0, 1),
)
def test_timeline_is_a_pure_function_of_its_inputs(tokens, outcome, after, jitter) -> None:
    spec = TimelineSpec(
        queue_seconds=1, tokens_per_second=10, jitter=jitter, jitter_seed=3, outcome=outcome, outcome_after_deltas=after
    )
    first = build_timeline("resp_1", "msg_1", PARAMS, tokens, 1, 100.0, spec)
    second = build_timeline("resp_1", "msg_1", PARAMS, tokens, 1, 100.0, spec)
    log = first.log
    assert bytes(log.frames(0, len(log))) == bytes(second.log.frames(0, len(second.log)))
    events = parse_frames(bytes(log.frames(0, len(log))))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == first.text
    times = [log.visible_at(n) for n in range(len(log))]
    assert times == sorted(times) and times[-1] == first.finished_at
