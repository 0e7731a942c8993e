"""The mock, field by field, against what recordings of the real API show (tests/wire/fidelity/real_api.toml).

Raw HTTP over a real socket, so the JSON types and headers are the server's own, not what an
SDK makes of them.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mock_server import ServerConfig, ServerThread
from mock_server.rules import decode_rule
from tests.conftest import FAST_BACKGROUND
from tests.raw_http import RawReply, send

REAL = tomllib.loads((Path(__file__).parent / "fidelity" / "real_api.toml").read_text())
TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def json_type_ok(value: Any, spelled: str) -> bool:
    """Whether `value` has one of the JSON types spelled `a|b`; a boolean is never a number here."""
    options = spelled.split("|")
    if isinstance(value, bool):
        return "boolean" in options
    return any(isinstance(value, JSON_TYPES[option]) for option in options)


def mismatched_fields(payload: dict[str, Any], expected: dict[str, str]) -> list[str]:
    missing = [f"{name} missing" for name in expected if name not in payload]
    wrong = [
        f"{name}: {payload[name]!r} is not {spelled}"
        for name, spelled in expected.items()
        if name in payload and not json_type_ok(payload[name], spelled)
    ]
    return missing + wrong


def events_of(reply: RawReply) -> list[dict[str, Any]]:
    """SSE frames parsed by hand: the `event:` line must name the data's type."""
    events = []
    for block in reply.body.decode().split("\n\n"):
        if not block:
            continue
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        event = json.loads(data_line.removeprefix("data: "))
        assert event["type"] == event_line.removeprefix("event: ")
        events.append(event)
    return events


def collapsed(types: list[str]) -> list[str]:
    """Runs of one delta type written as `type+`, as the orders in the data file are."""
    out: list[str] = []
    for kind in types:
        mark = f"{kind}+" if kind.endswith(".delta") else kind
        if not (out and out[-1] == mark and mark.endswith("+")):
            out.append(mark)
    return out


@pytest.fixture
def real_like(start_mock) -> ServerThread:
    mock = start_mock(ServerConfig(background=FAST_BACKGROUND, answer_tokens=8))
    rules = [
        {"match": {"input_contains": "[tool]"}, "faults": [{"type": "tool_calls"}]},
        {"match": {"input_contains": "[think]"}, "faults": [{"type": "reasoning", "parts": 1, "words": 4}]},
    ]
    for data in rules:
        mock.call(lambda data=data: mock.server.state.rules.add(decode_rule(data)))
    return mock


def create(mock: ServerThread, **body: Any) -> RawReply:
    return send("POST", f"{mock.base_url}/responses", json_body={"model": "gpt-4o", "background": True, **body})


def poll_to_end(mock: ServerThread, response_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    seen = []
    for _ in range(500):
        reply = send("GET", f"{mock.base_url}/responses/{response_id}")
        assert reply.headers["content-type"].startswith(REAL["http"]["json_content_type"])
        seen.append(reply.json())
        if seen[-1]["status"] not in REAL["response"]["running"]["status"]:
            return seen[:-1], seen[-1]
        time.sleep(0.01)
    raise AssertionError("never finished")


def test_every_response_object_carries_every_field_the_real_api_sends(real_like: ServerThread) -> None:
    created = create(real_like, input="Fields, please.").json()
    running, completed = poll_to_end(real_like, created["id"])
    fields = REAL["response"]["fields"]
    for snapshot in [created, *running, completed]:
        assert mismatched_fields(snapshot, fields) == [], snapshot["status"]
        assert mismatched_fields(snapshot["reasoning"], REAL["response"]["reasoning"]) == []
        assert mismatched_fields(snapshot["text"], REAL["response"]["text"]) == []
    expected_running = REAL["response"]["running"]
    for snapshot in [created, *running]:
        assert snapshot["status"] in expected_running["status"]
        assert snapshot["service_tier"] == expected_running["service_tier"]
        assert json_type_ok(snapshot["completed_at"], expected_running["completed_at"])
        assert json_type_ok(snapshot["usage"], expected_running["usage"])
        assert len(snapshot["output"]) == expected_running["output_length"]
        assert ("billing" in snapshot) == expected_running["has_billing"]
    expected_completed = REAL["response"]["completed"]
    assert completed["status"] == "completed"
    assert completed["service_tier"] == expected_completed["service_tier"]
    assert ("billing" in completed) == expected_completed["has_billing"]
    assert completed["billing"]["payer"] == expected_completed["billing_payer"]
    assert json_type_ok(completed["completed_at"], expected_completed["completed_at"])
    assert mismatched_fields(completed["usage"], expected_completed["usage"]) == []
    assert created["id"].startswith(REAL["id_prefixes"]["response"])


def test_a_tool_call_response_and_its_item_are_shaped_as_the_real_ones(real_like: ServerThread) -> None:
    created = create(real_like, input="[tool] Paris", tools=[TOOL], tool_choice="auto").json()
    _, completed = poll_to_end(real_like, created["id"])
    (item,) = completed["output"]
    assert mismatched_fields(item, REAL["items"]["function_call"]) == []
    assert item["type"] == "function_call" and item["status"] == "completed"
    assert item["id"].startswith(REAL["id_prefixes"]["function_call"])
    assert item["call_id"].startswith(REAL["id_prefixes"]["call"])
    assert json.loads(item["arguments"]).keys() == {"city"}
    # The tools are echoed with the fields the real API fills in.
    (tool,) = completed["tools"]
    assert tool == {**TOOL, "description": None, "strict": True} and completed["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("order", "body"),
    [
        ("text", {"input": "Plain text."}),
        ("function_call", {"input": "[tool] Lima", "tools": [TOOL]}),
        ("reasoning_then_text", {"input": "[think] then answer", "reasoning": {"summary": "auto"}}),
    ],
)
def test_streams_follow_the_real_event_order_and_fields(real_like: ServerThread, order: str, body: dict) -> None:
    reply = create(real_like, stream=True, **body)
    assert reply.headers["content-type"] == REAL["http"]["stream_content_type"]
    events = events_of(reply)
    assert collapsed([event["type"] for event in events]) == REAL["orders"][order]
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    for event in events:
        expected = {name: "string|integer|object|array" for name in REAL["events"][event["type"]]}
        assert mismatched_fields(event, expected) == [], event["type"]
    assert events[0]["response"]["status"] == "queued" and events[0]["response"]["background"] is True
    final = events[-1]["response"]
    for item in final["output"]:
        assert mismatched_fields(item, REAL["items"][item["type"]]) == []
        assert item["id"].startswith(REAL["id_prefixes"][item["type"]])
    assert mismatched_fields(final, REAL["response"]["fields"]) == []


def test_a_resumed_stream_starts_after_its_cursor_with_no_second_created(real_like: ServerThread) -> None:
    created = create(real_like, input="[tool] Oslo", tools=[TOOL]).json()
    poll_to_end(real_like, created["id"])
    reply = send("GET", f"{real_like.base_url}/responses/{created['id']}?stream=true&starting_after=0")
    assert reply.headers["content-type"] == REAL["http"]["stream_content_type"]
    events = events_of(reply)
    assert events[0]["sequence_number"] == REAL["resumption"]["first_sequence_after"]
    assert "response.created" not in [event["type"] for event in events]


def test_the_settings_a_request_gives_are_echoed_in_every_snapshot(real_like: ServerThread) -> None:
    text_format = {"type": "json_schema", "name": "city", "schema": {"type": "object"}, "strict": False}
    given = {
        "text": {"format": text_format, "verbosity": "low"},
        "reasoning": {"effort": "high", "summary": "concise"},
        "service_tier": "flex",
        "top_logprobs": 2,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "prompt_cache_key": "k-1",
        "prompt_cache_retention": "24h",
        "safety_identifier": "s-1",
        "max_tool_calls": 3,
        "max_output_tokens": 16,
        "truncation": "auto",
        "user": "u-1",
        "parallel_tool_calls": False,
    }
    created = create(real_like, input="Echo.", **given).json()
    _, completed = poll_to_end(real_like, created["id"])
    for snapshot in (created, completed):
        echoed = {name: snapshot[name] for name in given}
        assert echoed == given
