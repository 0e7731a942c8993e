"""The timeline builder: pure, deterministic, and its fast paths equal the plain encoding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import answer
from mock_server.function_calls import ToolCallSpec
from mock_server.params import FunctionTool, ResponseParams, ToolLoop
from mock_server.sse import event_frame, parse_frames
from mock_server.timeline import (
    COMPILED_BYTES_KEPT,
    Script,
    Timeline,
    TimelineSpec,
    _compile,
    _delta_frames,
    _shape_of,
    _Stamps,
    build_timeline,
    compile_script,
)

PARAMS = ResponseParams("gpt-4o", "hi", None, True, True, True, (), None, None, None, None)
PART = {"item_id": 'msg_"quoted"\\%d%s%', "output_index": 0, "content_index": 0}
RESPONSE_ID, ITEM_ID = "resp_" + "a" * 48, "msg_" + "b" * 48
# Strings a request may echo back, with what could be taken for slots or %-format fields.
TRICKY_PIECES = ["a", "%", "%%", "%(r)s", "%(c)s", "%d", '"', "\\", "\x00", "é"]
tricky_text = st.lists(st.sampled_from(TRICKY_PIECES)).map("".join)
outcomes = st.sampled_from(["completed", "failed", "incomplete", "cancelled"])


def whole(timeline: Timeline) -> bytes:
    return bytes(timeline.log.frames(0, len(timeline.log)))


@settings(max_examples=300)
@given(tokens=st.lists(st.text(), max_size=20), first=st.integers(0, 10_000))
def test_templated_delta_frames_equal_event_frame(tokens: list[str], first: int) -> None:
    expected = [
        event_frame({"type": "response.output_text.delta", **PART, "delta": t, "logprobs": [], "sequence_number": n})
        for n, t in enumerate(tokens, first)
    ]
    base = {"type": "response.output_text.delta", **PART, "delta": "", "logprobs": []}
    assert _delta_frames(base, tokens, first) == expected


@settings(max_examples=200)
@given(
    model=tricky_text.filter(bool),
    instructions=st.none() | tricky_text,
    metadata=st.lists(st.tuples(tricky_text, tricky_text), max_size=3),
    error_message=tricky_text,
    outcome=outcomes,
    background=st.booleans(),
    created_at=st.floats(0, 4e9),
    input_text=tricky_text,
    length=st.integers(1, 12),
    after=st.none() | st.integers(0, 14),
)
def test_a_compiled_script_renders_exactly_what_encoding_each_response_gives(
    model: str,
    instructions: str | None,
    metadata: list[tuple[str, str]],
    error_message: str,
    outcome: str,
    background: bool,
    created_at: float,
    input_text: str,
    length: int,
    after: int | None,
) -> None:
    # The prompt varies too: compiled scripts share one shape across prompts, and only the answer may differ.
    params = ResponseParams(
        model, input_text, instructions, background, True, True, tuple(metadata), 0.5, None, None, None
    )
    spec = TimelineSpec(
        queue_seconds=1.5,
        tokens_per_second=7,
        outcome=outcome,  # type: ignore[arg-type]
        outcome_after_deltas=after,
        error_message=error_message,
    )
    script = Script(params, seed=3, answer_length=length, spec=spec)
    direct = _compile(script, _Stamps(RESPONSE_ID, ITEM_ID, created_at))
    assert direct is not None
    expected = direct.render(RESPONSE_ID, ITEM_ID, created_at)
    built = build_timeline(script, RESPONSE_ID, ITEM_ID, created_at)  # first sight: rendered from the shape
    assert whole(built) == whole(expected)
    assert built.final == expected.final
    compile_script(script)  # second sight: compiled and kept, then rendered from the compiled script
    again = build_timeline(script, RESPONSE_ID, ITEM_ID, created_at)
    assert whole(again) == whole(expected) and again.final_json == expected.final_json
    events = parse_frames(whole(built))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["created_at"] == int(created_at)
    assert events[0]["response"]["instructions"] == instructions
    assert built.final["id"] == RESPONSE_ID and built.final["status"] == outcome


TOOLS = (FunctionTool("get_weather", None, '{"type":"object","properties":{"city":{"type":"string"}}}'),)


@settings(max_examples=150, deadline=None)
@given(
    prompts=st.lists(tricky_text, min_size=2, max_size=3, unique=True),
    offered=st.booleans(),
    tool_choice=st.sampled_from(["auto", "none", "required"]),
    wishes=st.sampled_from([(), (ToolCallSpec(),), (ToolCallSpec("get_weather", '{"city":"Oslo"}'),)]),
    earlier_rounds=st.integers(0, 1),
    reasoning_parts=st.integers(0, 1),
    outcome=outcomes,
    after=st.none() | st.integers(0, 12),
)
def test_prompts_sharing_a_shape_with_tools_on_offer_render_like_their_own_encoding(
    prompts: list[str],
    offered: bool,
    tool_choice: str,
    wishes: tuple[ToolCallSpec, ...],
    earlier_rounds: int,
    reasoning_parts: int,
    outcome: str,
    after: int | None,
) -> None:
    # Whether the model calls a tool depends on the tools, tool_choice, the conversation and the rules, never
    # on the prompt; the calls' arguments and a reasoning summary do. The shape's key must tell them apart.
    loop = ToolLoop(tools=TOOLS if offered else (), tool_choice=tool_choice, tool_rounds=earlier_rounds)
    spec = TimelineSpec(
        tokens_per_second=9,
        outcome=outcome,  # type: ignore[arg-type]
        outcome_after_deltas=after,
        tool_calls=wishes,
        reasoning_parts=reasoning_parts,
        reasoning_words=3,
    )
    for prompt in prompts:
        params = ResponseParams("gpt-4o", prompt, None, True, True, True, (), None, None, None, None, tool_loop=loop)
        script = Script(params, seed=5, answer_length=4, spec=spec)
        expected = _compile(script, _Stamps(RESPONSE_ID, ITEM_ID, 20.0)).render(RESPONSE_ID, ITEM_ID, 20.0)
        for _ in range(3):  # first sight (the shape, if any), second (compiled and kept), then kept
            built = build_timeline(script, RESPONSE_ID, ITEM_ID, 20.0)
            assert whole(built) == whole(expected) and built.final_json == expected.final_json
        if script.calls() or reasoning_parts:
            assert _shape_of(script) is None  # compiled whole: the prompt reaches its events
        else:
            assert _shape_of(script) is not None


def test_a_script_without_a_shape_is_kept_from_its_first_compile() -> None:
    loop = ToolLoop(tools=TOOLS, tool_choice="required")
    params = ResponseParams("gpt-4o", "once", None, True, True, True, (), None, None, None, None, tool_loop=loop)
    script = Script(params, 0, 5, TimelineSpec())
    assert script.calls() and _shape_of(script) is None
    compiled = compile_script(script)
    assert compiled is not None and script in compile_script.cache  # type: ignore[attr-defined]
    assert compile_script(script) is compiled


def test_responses_of_one_script_share_its_encoding_and_differ_only_in_who_they_are() -> None:
    script = Script(PARAMS, seed=0, answer_length=64, spec=TimelineSpec(tokens_per_second=10))
    assert compile_script(script) is not None
    assert compile_script(script) is compile_script(script)  # kept from its second use on
    first = build_timeline(script, RESPONSE_ID, ITEM_ID, 1_700_000_000.25)
    second = build_timeline(script, "resp_" + "c" * 48, "msg_" + "d" * 48, 1_700_000_100.5)
    assert first.text == second.text and len(first.log) == len(second.log) == 64 + 9
    renamed = whole(first).replace(b"a" * 48, b"c" * 48).replace(b"b" * 48, b"d" * 48)
    assert renamed.replace(b"1700000000", b"1700000100").replace(b"1700000006", b"1700000106") == whole(second)
    assert [second.log.visible_at(n) - first.log.visible_at(n) for n in (0, 10, 72)] == pytest.approx([100.25] * 3)
    assert first.final["completed_at"] == 1_700_000_006 and second.final["completed_at"] == 1_700_000_106


@given(
    outcome=outcomes,
    after=st.none() | st.integers(0, 30),
    jitter=st.floats(0, 1),
    length=st.integers(1, 30),
)
def test_timeline_is_a_pure_function_of_its_inputs(outcome: str, after: int | None, jitter: float, length: int) -> None:
    spec = TimelineSpec(
        queue_seconds=1,
        tokens_per_second=10,
        jitter=jitter,
        jitter_seed=3,
        outcome=outcome,  # type: ignore[arg-type]
        outcome_after_deltas=after,
    )
    script = Script(PARAMS, seed=1, answer_length=length, spec=spec)
    first = build_timeline(script, "resp_1", "msg_1", 100.0)
    second = build_timeline(Script(PARAMS, seed=1, answer_length=length, spec=spec), "resp_1", "msg_1", 100.0)
    log = first.log
    assert whole(first) == whole(second)
    events = parse_frames(whole(first))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == first.text
    times = [log.visible_at(n) for n in range(len(log))]
    assert times == sorted(times) and times[-1] == first.finished_at


def test_a_request_that_spells_a_slot_gets_its_own_text_back() -> None:
    forged = "%(r)s at %(c)s, 100%"
    params = ResponseParams("gpt-4o", "hi", forged, True, True, True, ((forged, forged),), None, None, None, None)
    script = Script(params, 0, 5, TimelineSpec())
    assert compile_script(script) is None  # encoded for each response instead
    timeline = build_timeline(script, RESPONSE_ID, ITEM_ID, 10.0)
    assert timeline.final["instructions"] == forged and timeline.final["metadata"] == {forged: forged}
    assert timeline.final["id"] == RESPONSE_ID


def test_a_prompt_is_never_echoed_so_one_that_spells_a_slot_still_shares_a_compiled_shape() -> None:
    params = ResponseParams("gpt-4o", "%(r)s 100%", None, True, True, True, (), None, None, None, None)
    script = Script(params, 0, 5, TimelineSpec())
    compiled = compile_script(script)
    assert compiled is not None
    assert whole(build_timeline(script, RESPONSE_ID, ITEM_ID, 10.0)) == whole(
        _compile(script, _Stamps(RESPONSE_ID, ITEM_ID, 10.0)).render(RESPONSE_ID, ITEM_ID, 10.0)
    )


def test_no_answer_word_holds_a_percent_sign_which_compiled_scripts_keep_for_slots() -> None:
    assert not any("%" in word for word in answer._WORDS)


def test_compiled_scripts_are_kept_up_to_a_bound_on_their_size() -> None:
    # Instructions are echoed in every Response snapshot: 1 MiB of them makes a script of about 4 MiB.
    instructions = "x" * (1 << 20)
    scripts = [
        Script(
            ResponseParams("gpt-4o", f"q{n}", instructions, False, True, True, (), None, None, None, None),
            0,
            5,
            TimelineSpec(),
        )
        for n in range(12)
    ]
    for script in scripts:
        assert compile_script(script) is not None
        assert compile_script(script) is not None  # kept from its second use on
    kept = compile_script.cache  # type: ignore[attr-defined]
    assert kept.currsize <= COMPILED_BYTES_KEPT
    assert scripts[-1] in kept and scripts[0] not in kept
