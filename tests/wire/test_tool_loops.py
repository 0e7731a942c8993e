"""Tool loops in background mode through the real `openai` SDK (strict), over real sockets.

The model calls tools when a rule asks it to (`tool_calls`), the caller runs them and
submits their outputs (input items, or `previous_response_id`), and the model answers
from those outputs: the ground truth shows the calls and the outputs each answer got.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.responses import (
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionToolCall,
    ResponseReasoningItem,
    ResponseReasoningSummaryTextDeltaEvent,
)

from mock_server import ServerConfig, ServerThread
from mock_server.rules import decode_rule
from mock_server.sse import event_frame
from tests.conftest import FAST_BACKGROUND
from tests.wire.test_responses_api import poll_until_terminal

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
CLOCK = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}
PARIS = '{"city":"Paris","unit":"C"}'


def strict(mock: ServerThread) -> OpenAI:
    return OpenAI(base_url=mock.base_url, api_key="k", _strict_response_validation=True, max_retries=0)


def with_rules(start_mock, *rules: dict[str, Any], config: ServerConfig | None = None) -> ServerThread:
    mock = start_mock(config or ServerConfig(background=FAST_BACKGROUND, answer_tokens=12))
    for data in rules:
        mock.call(lambda data=data: mock.server.state.rules.add(decode_rule(data)))
    return mock


def weather_rule(**call: Any) -> dict[str, Any]:
    return {"match": {"input_contains": "[weather]"}, "faults": [{"type": "tool_calls", **call}]}


def calls_of(response: Any) -> list[ResponseFunctionToolCall]:
    return [item for item in response.output if item.type == "function_call"]


def test_background_tool_loop_polled_with_the_conversation_as_input(start_mock) -> None:
    mock = with_rules(start_mock, weather_rule(arguments=PARIS))
    question = {"role": "user", "content": "[weather] What is it like in Paris?"}
    with strict(mock) as client:
        first = client.responses.create(model="gpt-4o", input=[question], tools=[WEATHER], background=True)
        assert first.status == "queued" and first.tools[0].name == "get_weather"
        done, statuses = poll_until_terminal(client, first.id)
        assert statuses[-1] == "completed" and done.output_text == ""
        (call,) = calls_of(done)
        assert (call.name, call.arguments, call.status) == ("get_weather", PARIS, "completed")
        assert call.id.startswith("fc_") and call.call_id.startswith("call_")

        submitted = [question, call.model_dump(exclude_none=True)]
        submitted.append({"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21°C"})
        follow_up = client.responses.create(model="gpt-4o", input=submitted, tools=[WEATHER], background=True)
        answer, _ = poll_until_terminal(client, follow_up.id)

    assert answer.status == "completed" and answer.output_text and not calls_of(answer)
    truth_first, truth_answer = mock.ground_truth(first.id), mock.ground_truth(follow_up.id)
    assert truth_first["function_calls"] == [{"call_id": call.call_id, "name": "get_weather", "arguments": PARIS}]
    assert truth_answer["tool_outputs"] == [{"call_id": call.call_id, "output": "Sunny, 21°C"}]
    assert truth_answer["text"] == answer.output_text


def test_tool_loop_continued_with_previous_response_id_polled_by_the_async_sdk(start_mock) -> None:
    mock = with_rules(start_mock, weather_rule())

    async def loop() -> tuple[str, str, str]:
        async with AsyncOpenAI(base_url=mock.base_url, api_key="k", _strict_response_validation=True) as client:
            first = await client.responses.create(
                model="gpt-4o", input="[weather] Lisbon?", tools=[WEATHER], background=True
            )
            while (done := await client.responses.retrieve(first.id)).status != "completed":
                await asyncio.sleep(0.01)
            (call,) = calls_of(done)
            output = {"type": "function_call_output", "call_id": call.call_id, "output": "Rain"}
            follow_up = await client.responses.create(
                model="gpt-4o", input=[output], previous_response_id=first.id, tools=[WEATHER], background=True
            )
            assert follow_up.previous_response_id == first.id
            while (answer := await client.responses.retrieve(follow_up.id)).status != "completed":
                await asyncio.sleep(0.01)
            return call.arguments, follow_up.id, answer.output_text

    arguments, follow_up_id, text = asyncio.run(loop())
    # Generated arguments follow the tool's schema: every required key, enums respected.
    decoded = json.loads(arguments)
    assert set(decoded) == {"city", "unit"} and decoded["unit"] in ("C", "F") and isinstance(decoded["city"], str)
    truth = mock.ground_truth(follow_up_id)
    assert truth["previous_response_id"] is not None and truth["function_calls"] == []
    assert [output["output"] for output in truth["tool_outputs"]] == ["Rain"] and truth["text"] == text


def test_the_answer_depends_on_the_tool_output_given(start_mock) -> None:
    mock = with_rules(start_mock, weather_rule(arguments=PARIS))
    with strict(mock) as client:
        first = client.responses.create(model="gpt-4o", input="[weather] Paris", tools=[WEATHER])
        (call,) = calls_of(first)

        def answer(output: str) -> str:
            item = {"type": "function_call_output", "call_id": call.call_id, "output": output}
            return client.responses.create(model="gpt-4o", input=[item], previous_response_id=first.id).output_text

        sunny, rainy, sunny_again = answer("Sunny"), answer("Rain"), answer("Sunny")
    assert sunny != rainy and sunny == sunny_again


@pytest.mark.parametrize("cut", ["events", "bytes"])
def test_streamed_tool_call_cut_inside_its_arguments_resumes_exactly(start_mock, cut: str) -> None:
    # Events: created 0, queued 1, in_progress 2, output_item.added 3, argument deltas from 4 on.
    probe = with_rules(start_mock, weather_rule(arguments=PARIS))
    with strict(probe) as client:
        events = list(client.responses.create(model="gpt-4o", input="[weather] x", tools=[WEATHER], stream=True))
    argument_deltas = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)]
    assert len(argument_deltas) >= 4 and "".join(e.delta for e in argument_deltas) == PARIS
    truth_frames = [event_frame(event) for event in probe.ground_truth(events[0].response.id)["events"]]
    # Cut after two argument deltas: by events, or eleven bytes into the third delta's frame.
    drop = (
        {"type": "drop_after_events", "events": 6}
        if cut == "events"
        else {"type": "drop_after_bytes", "bytes": sum(map(len, truth_frames[:7])) + 11}
    )
    rules = (weather_rule(arguments=PARIS), {"match": {"stream": True}, "times": 1, "faults": [drop]})
    mock = with_rules(start_mock, *rules)
    with strict(mock) as client:
        received = []
        with pytest.raises(openai.APIConnectionError):
            stream = client.responses.create(
                model="gpt-4o", input="[weather] Paris", tools=[WEATHER], background=True, stream=True
            )
            for event in stream:
                received.append(event)
        response_id = received[0].response.id
        last = received[-1].sequence_number
        rest = list(client.responses.retrieve(response_id, stream=True, starting_after=last))
        final = client.responses.retrieve(response_id)

    everything = received + rest
    assert [event.sequence_number for event in everything] == list(range(len(everything)))
    arguments = "".join(e.delta for e in everything if e.type == "response.function_call_arguments.delta")
    assert arguments == PARIS == calls_of(final)[0].arguments
    done = next(e for e in everything if e.type == "response.function_call_arguments.done")
    assert done.arguments == PARIS and done.item_id == calls_of(final)[0].id
    assert everything[-1].type == "response.completed"


def test_streamed_tool_call_events_in_the_real_api_order(start_mock) -> None:
    mock = with_rules(start_mock, weather_rule(arguments=PARIS))
    with strict(mock) as client:
        events = list(
            client.responses.create(model="gpt-4o", input="[weather] y", tools=[WEATHER], background=True, stream=True)
        )
    types = [event.type for event in events]
    assert types[:4] == ["response.created", "response.queued", "response.in_progress", "response.output_item.added"]
    assert types[-3:] == ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    assert set(types[4:-3]) == {"response.function_call_arguments.delta"}
    added, finished = events[3], events[-2]
    assert added.item.arguments == "" and added.item.status == "in_progress"
    assert finished.item.arguments == PARIS and finished.item.status == "completed"
    assert {e.item_id for e in events[4:-2]} == {added.item.id} and {e.output_index for e in events[3:-1]} == {0}


def test_parallel_tool_calls_and_their_outputs(start_mock) -> None:
    rules = (
        {"match": {"input_contains": "[two]"}, "faults": [{"type": "tool_calls", "name": "get_weather", "count": 2}]},
        {"match": {"input_contains": "[two]"}, "faults": [{"type": "tool_calls", "name": "get_time"}]},
    )
    mock = with_rules(start_mock, *rules)
    with strict(mock) as client:
        events = list(client.responses.create(model="gpt-4o", input="[two] go", tools=[WEATHER, CLOCK], stream=True))
        final = events[-1].response
        calls = calls_of(final)
        assert [call.name for call in calls] == ["get_weather", "get_weather", "get_time"]
        assert len({call.call_id for call in calls}) == 3 and len({call.id for call in calls}) == 3
        assert calls[0].arguments != calls[1].arguments  # each call's arguments are generated on their own
        added = [e for e in events if e.type == "response.output_item.added"]
        assert [e.output_index for e in added] == [0, 1, 2]

        single = client.responses.create(
            model="gpt-4o", input="[two] go", tools=[WEATHER, CLOCK], parallel_tool_calls=False
        )
        assert len(calls_of(single)) == 1 and single.parallel_tool_calls is False

        outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": c.name} for c in calls]
        with pytest.raises(openai.BadRequestError) as missing:
            client.responses.create(model="gpt-4o", input=outputs[:2], previous_response_id=final.id)
        assert missing.value.body["param"] == "input"
        assert calls[2].call_id in missing.value.body["message"]
        answer = client.responses.create(model="gpt-4o", input=outputs, previous_response_id=final.id)
    assert answer.output_text and [o["call_id"] for o in mock.ground_truth(answer.id)["tool_outputs"]] == [
        c.call_id for c in calls
    ]


def test_tool_choice_is_honoured(start_mock) -> None:
    mock = with_rules(start_mock, weather_rule(arguments=PARIS))
    with strict(mock) as client:
        never = client.responses.create(model="gpt-4o", input="[weather] a", tools=[WEATHER], tool_choice="none")
        assert not calls_of(never) and never.output_text and never.tool_choice == "none"
        # No rule asks for a call, but `required` makes the model call one.
        required = client.responses.create(model="gpt-4o", input="plain", tools=[CLOCK], tool_choice="required")
        assert [call.name for call in calls_of(required)] == ["get_time"] and calls_of(required)[0].arguments == "{}"
        named = client.responses.create(
            model="gpt-4o",
            input="plain",
            tools=[WEATHER, CLOCK],
            tool_choice={"type": "function", "name": "get_weather"},
        )
        assert [call.name for call in calls_of(named)] == ["get_weather"]
        assert named.tool_choice.name == "get_weather"
        # Without tools the model cannot call any, whatever the rule says.
        assert not calls_of(client.responses.create(model="gpt-4o", input="[weather] b"))


def test_a_rule_can_ask_for_several_rounds(start_mock) -> None:
    mock = with_rules(start_mock, weather_rule(rounds=2))
    with strict(mock) as client:
        response = client.responses.create(model="gpt-4o", input="[weather] twice", tools=[WEATHER])
        rounds = 0
        while calls := calls_of(response):
            rounds += 1
            outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": "ok"} for c in calls]
            response = client.responses.create(
                model="gpt-4o", input=outputs, previous_response_id=response.id, tools=[WEATHER]
            )
    assert rounds == 2 and response.output_text


def test_reasoning_summary_events_parse_in_the_sdk(start_mock) -> None:
    rule = {"match": {"input_contains": "[think]"}, "faults": [{"type": "reasoning", "parts": 2, "words": 5}]}
    mock = with_rules(start_mock, rule)
    with strict(mock) as client:
        events = list(
            client.responses.create(
                model="o3", input="[think] hard", background=True, stream=True, reasoning={"summary": "auto"}
            )
        )
    final = events[-1].response
    reasoning, message = final.output
    assert isinstance(reasoning, ResponseReasoningItem) and message.type == "message"
    summary_deltas = [e for e in events if isinstance(e, ResponseReasoningSummaryTextDeltaEvent)]
    assert [e.summary_index for e in summary_deltas] == [0] * 5 + [1] * 5
    for index, part in enumerate(reasoning.summary):
        assert part.text == "".join(e.delta for e in summary_deltas if e.summary_index == index)
    types = [e.type for e in events]
    part_events = [
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * 5,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
    ]
    reasoning_events = ["response.output_item.added", *part_events, *part_events, "response.output_item.done"]
    assert types[3 : 3 + len(reasoning_events)] == reasoning_events
    assert types[3 + len(reasoning_events)] == "response.output_item.added" and events[-1].type == "response.completed"
    assert final.usage.output_tokens_details.reasoning_tokens == 10 and final.reasoning.summary == "auto"
    assert final.output_text == mock.ground_truth(final.id)["text"]


def test_a_tool_calling_response_can_be_cancelled(start_mock) -> None:
    slow = {"type": "background", "queued_polls": 1, "in_progress_polls": 50}
    mock = with_rules(start_mock, weather_rule(), {"match": {"input_contains": "[weather]"}, "faults": [slow]})
    with strict(mock) as client:
        created = client.responses.create(model="gpt-4o", input="[weather] c", tools=[WEATHER], background=True)
        client.responses.retrieve(created.id)
        client.responses.retrieve(created.id)
        cancelled = client.responses.cancel(created.id)
        assert cancelled.status == "cancelled"
        assert client.responses.retrieve(created.id).status == "cancelled"


def test_tool_loop_recipes_survive_a_restart(start_mock, tmp_path: Path) -> None:
    config = ServerConfig(background=FAST_BACKGROUND, answer_tokens=12, store=f"sqlite:{tmp_path / 'r.db'}")
    mock = with_rules(start_mock, weather_rule(), config=config)
    with strict(mock) as client:
        first = client.responses.create(
            model="gpt-4o", input="[weather] Oslo", tools=[WEATHER], user="u-1", service_tier="flex", top_logprobs=3
        )
        (call,) = calls_of(first)
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "Snow"}
        answer = client.responses.create(model="gpt-4o", input=[output], previous_response_id=first.id)
    before = mock.ground_truth(first.id), mock.ground_truth(answer.id)
    mock.stop()

    restarted = start_mock(config)  # no rules: what the responses do comes from their stored recipes
    with strict(restarted) as client:
        restored = client.responses.retrieve(first.id)
        assert calls_of(restored)[0].model_dump() == call.model_dump()
        assert (restored.user, restored.service_tier, restored.top_logprobs) == ("u-1", "flex", 3)
        assert restored.tools[0].name == "get_weather"
        assert client.responses.retrieve(answer.id).output_text == answer.output_text
        # The restored conversation still knows its calls: the same output is accepted again.
        again = client.responses.create(model="gpt-4o", input=[output], previous_response_id=first.id)
    assert (restarted.ground_truth(first.id), restarted.ground_truth(answer.id)) == before
    assert again.output_text == answer.output_text


@pytest.mark.parametrize(
    ("request_body", "status", "param", "code"),
    [
        ({"previous_response_id": "resp_missing"}, 400, "previous_response_id", "previous_response_not_found"),
        ({"max_output_tokens": 10}, 400, "max_output_tokens", "integer_below_min_value"),
        ({"conversation": "conv_missing"}, 404, "conversation", None),
        ({"input": [{"type": "function_call_output", "call_id": "call_x", "output": "o"}]}, 400, "input", None),
        (
            {"input": [{"type": "function_call", "call_id": "call_y", "name": "f", "arguments": "{}"}]},
            400,
            "input",
            None,
        ),
        ({"tools": [{"name": "f"}]}, 400, "tools[0].type", "missing_required_parameter"),
        ({"tools": [{"type": "function"}]}, 400, "tools[0].name", "missing_required_parameter"),
        ({"tools": [{"type": "function", "name": "bad name"}]}, 400, "tools[0].name", "invalid_value"),
        ({"tools": [{"type": "function", "name": "f", "parameters": []}]}, 400, "tools[0].parameters", "invalid_type"),
        ({"tools": [{"type": "spaceship"}]}, 400, "tools[0].type", "invalid_value"),
        ({"tool_choice": "sometimes"}, 400, "tool_choice", "invalid_value"),
        ({"tools": [CLOCK], "tool_choice": {"type": "function", "name": "nope"}}, 400, "tool_choice", "invalid_value"),
    ],
)
def test_requests_the_real_api_refuses(
    client: OpenAI, mock: ServerThread, request_body: dict[str, Any], status: int, param: str, code: str | None
) -> None:
    body = {"model": "gpt-4o", "input": "hi", **request_body}
    with pytest.raises(openai.APIStatusError) as refused:
        client.post("/responses", body=body, cast_to=object)
    assert refused.value.status_code == status
    assert (refused.value.body["param"], refused.value.body["code"]) == (param, code)
    assert refused.value.body["type"] == "invalid_request_error"
    assert mock.call(lambda: len(mock.server.state.store)) == 0
