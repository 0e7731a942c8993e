"""Tool calls and reasoning in a response's timeline, on in-memory data: which calls, their events, their endings."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.faults import FaultSpecError, decode_fault
from mock_server.function_calls import ToolCallSpec, argument_pieces, generated_arguments, planned_calls
from mock_server.params import FunctionTool, ResponseParams, ToolLoop
from mock_server.sse import parse_frames
from mock_server.timeline import Script, Timeline, TimelineSpec, _compile, _Stamps, build_timeline

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "threshold": {"type": "number"},
        "metric": {"type": "boolean"},
        "unit": {"enum": ["C", "F"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
        "optional": {"type": "string"},
    },
    "required": ["city", "days", "threshold", "metric", "unit", "tags", "where"],
}
WEATHER = FunctionTool("get_weather", None, json.dumps(SCHEMA))
CLOCK = FunctionTool("get_time")
LOOP = ToolLoop(tools=(WEATHER, CLOCK))
BASE = ResponseParams("gpt-4o", "hi", None, True, True, True, (), None, None, None, None, tool_loop=LOOP)
RESPONSE_ID, ITEM_ID = "resp_" + "a" * 48, "msg_" + "b" * 48


def whole(timeline: Timeline) -> bytes:
    return bytes(timeline.log.frames(0, len(timeline.log)))


def test_generated_arguments_follow_the_schema_and_the_seed() -> None:
    arguments = json.loads(generated_arguments(WEATHER, 1, "hi", 0))
    assert set(arguments) == set(SCHEMA["required"])
    assert isinstance(arguments["city"], str) and isinstance(arguments["days"], int)
    assert isinstance(arguments["threshold"], float) and isinstance(arguments["metric"], bool)
    assert arguments["unit"] in ("C", "F") and isinstance(arguments["tags"], list)
    assert set(arguments["where"]) == {"lat"}
    assert generated_arguments(WEATHER, 1, "hi", 0) == generated_arguments(WEATHER, 1, "hi", 0)
    others = {generated_arguments(WEATHER, seed, "hi", 0) for seed in range(8)}
    assert len(others) > 1
    assert generated_arguments(CLOCK, 1, "hi", 0) == "{}"


@pytest.mark.parametrize(
    ("changes", "wishes", "expected"),
    [
        ({}, (ToolCallSpec(),), ["get_weather"]),
        ({}, (ToolCallSpec("get_time", "{}", 2),), ["get_time", "get_time"]),
        ({}, (ToolCallSpec("not_offered"),), []),
        ({}, (), []),
        ({"tool_choice": "none"}, (ToolCallSpec(),), []),
        ({"tool_choice": "required"}, (), ["get_weather"]),
        ({"tool_choice": "function", "tool_choice_name": "get_time"}, (), ["get_time"]),
        ({"tool_choice": "function", "tool_choice_name": "get_time"}, (ToolCallSpec("get_weather"),), ["get_time"]),
        ({"parallel_tool_calls": False}, (ToolCallSpec(count=3),), ["get_weather"]),
        ({"max_tool_calls": 2}, (ToolCallSpec(count=3),), ["get_weather", "get_weather"]),
        ({"tool_rounds": 1}, (ToolCallSpec(),), []),
        ({"tools": ()}, (ToolCallSpec(),), []),
    ],
)
def test_which_tools_the_model_calls(changes: dict, wishes: tuple[ToolCallSpec, ...], expected: list[str]) -> None:
    params = dataclasses.replace(BASE, tool_loop=dataclasses.replace(LOOP, **changes))
    assert [call.name for call in planned_calls(params, wishes, rounds=1, seed=0)] == expected


def test_arguments_stream_in_short_pieces_that_join_back_exactly() -> None:
    for arguments in ('{"city":"Paris"}', '{"q":"São Paulo, 100%"}', '{"snake_case_key":[1,2.5,true]}', "{}"):
        pieces = argument_pieces(arguments)
        assert "".join(pieces) == arguments and all(len(piece) <= max(4, len(piece)) for piece in pieces)
    assert len(argument_pieces('{"city":"Paris"}')) >= 5


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"type": "tool_calls", "arguments": "not json"}, "fault"),
        ({"type": "tool_calls", "arguments": "[1]"}, "fault"),
        ({"type": "tool_calls", "count": 0}, "fault.count"),
        ({"type": "tool_calls", "name": 5}, "fault.name"),
        ({"type": "reasoning", "parts": 0}, "fault.parts"),
        ({"type": "reasoning", "words": "many"}, "fault.words"),
    ],
)
def test_bad_behaviours_are_refused_naming_the_field(fault: dict, field: str) -> None:
    with pytest.raises(FaultSpecError) as refused:
        decode_fault(fault)
    assert refused.value.field == field


def test_behaviours_add_up_on_the_spec() -> None:
    spec = TimelineSpec()
    for data in (
        {"type": "tool_calls", "name": "get_time"},
        {"type": "tool_calls", "rounds": 3},
        {"type": "reasoning", "parts": 2},
    ):
        spec = decode_fault(data).shape(spec, 10)  # type: ignore[attr-defined]
    assert spec.tool_calls == (ToolCallSpec("get_time"), ToolCallSpec()) and spec.tool_rounds == 3
    assert (spec.reasoning_parts, spec.reasoning_words) == (2, 12)
    assert TimelineSpec.from_dict(spec.as_dict()) == spec


@settings(max_examples=150, deadline=None)
@given(
    outcome=st.sampled_from(["completed", "failed", "incomplete", "cancelled"]),
    after=st.none() | st.integers(0, 40),
    count=st.integers(1, 3),
    reasoning_parts=st.integers(0, 2),
    arguments=st.none() | st.sampled_from(['{"q":"100%(r)s"}', '{"city":"Paris"}']),
    created_at=st.floats(0, 4e9),
)
def test_tool_call_timelines_render_like_their_direct_encoding_and_end_honestly(
    outcome: str, after: int | None, count: int, reasoning_parts: int, arguments: str | None, created_at: float
) -> None:
    spec = TimelineSpec(
        tokens_per_second=5,
        outcome=outcome,  # type: ignore[arg-type]
        outcome_after_deltas=after,
        tool_calls=(ToolCallSpec("get_weather", arguments, count),),
        reasoning_parts=reasoning_parts,
        reasoning_words=3,
    )
    script = Script(BASE, seed=2, answer_length=6, spec=spec)
    built = build_timeline(script, RESPONSE_ID, ITEM_ID, created_at)
    direct = _compile(script, _Stamps(RESPONSE_ID, ITEM_ID, created_at)).render(RESPONSE_ID, ITEM_ID, created_at)
    assert whole(built) == whole(direct) and built.final == direct.final
    events = parse_frames(whole(built))
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    deltas = [event for event in events if event["type"].endswith(".delta")]
    assert len(deltas) == (script.delta_count() if after is None else min(after, script.delta_count()))
    calls = [item for item in built.final["output"] if item["type"] == "function_call"]
    for call in calls:
        streamed = "".join(e["delta"] for e in deltas if e.get("item_id") == call["id"])
        assert streamed == call["arguments"]
    closed = [event["item"]["id"] for event in events if event["type"] == "response.output_item.done"]
    if outcome == "completed":
        assert len(calls) == count and all(call["status"] == "completed" for call in calls)
        assert len(closed) == count + bool(reasoning_parts)
    elif outcome == "incomplete":
        # The item the response stopped in closes incomplete; none follows it.
        assert built.final["output"][-1].get("status", "incomplete") == "incomplete" or not calls
        assert closed == [item["id"] for item in built.final["output"]]
    else:
        opened = [event["item"]["id"] for event in events if event["type"] == "response.output_item.added"]
        assert closed == opened[:-1]  # the item it stopped in is never closed
    fc_ids = {call["id"] for call in calls}
    assert all(item_id.startswith("fc_") and len(item_id) == 51 for item_id in fc_ids)
