"""Recorded chat completions in memory: their two forms, their times, their minted ids, and matching."""

from __future__ import annotations

import orjson
import pytest
from vcr.request import Request

from mock_server.cassette import CassetteError, Interaction, load_cassette
from mock_server.errors import APIError
from mock_server.playback import Recordings, Unmatched
from mock_server.recorded_chat import RecordedChat, chat_answers_of
from mock_server.sse import parse_frames
from mock_server.timeline import TimelineSpec
from tests.paths import ROOT

CASSETTE = ROOT / "tests" / "data" / "cassettes" / "openai-chat-completions.yaml"
RECORDED_ID = "chatcmpl-rec0001"
URL = "http://127.0.0.1:9/v1/chat/completions"


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    chunk = {"id": RECORDED_ID, "object": "chat.completion.chunk", "created": 1700000000, "model": "m"}
    return b"data: " + orjson.dumps({**chunk, "choices": [choice]}) + b"\n\n"


def _stream(*frames: bytes, times: tuple[float, ...] | None = None) -> RecordedChat:
    request = Request("POST", URL, b'{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}', {})
    interaction = Interaction(request, 200, "OK", {"content-type": ["text/event-stream"]}, b"".join(frames), 0.0, times)
    [answer] = chat_answers_of([interaction], "s.yaml")
    return answer


TEXT_FRAMES = (_chunk({"role": "assistant", "content": ""}), _chunk({"content": "Hi"}), _chunk({"content": " there"}))
ENDED = (*TEXT_FRAMES, _chunk({}, "stop"), b"data: [DONE]\n\n")


def _released(answer: RecordedChat, spec: TimelineSpec, recorded_pace: bool) -> list[float]:
    log = answer.event_log("chatcmpl-new", 100.0, spec, recorded_pace, include_usage=False)
    return [log.visible_at(index) - 100.0 for index in range(len(log))]


def test_a_recorded_stream_keeps_its_times_unless_a_fault_re_paces_it() -> None:
    answer = _stream(*ENDED, times=(0.0, 0.2, 0.3, 0.35, 0.35))
    spec = TimelineSpec(first_token_seconds=1.0, tokens_per_second=10.0)
    assert _released(answer, spec, recorded_pace=True) == pytest.approx([0.0, 0.2, 0.3, 0.35, 0.35])
    assert _released(answer, spec, recorded_pace=False) == pytest.approx([0.0, 1.0, 1.1, 1.1, 1.1])
    untimed = _stream(*ENDED)
    assert _released(untimed, spec, recorded_pace=True) == pytest.approx([0.0, 1.0, 1.1, 1.1, 1.1])
    assert answer.delta_count == 2 and answer.finished_after(spec) == pytest.approx(1.1)


def test_replays_carry_the_minted_id_and_time_and_every_other_byte_as_recorded() -> None:
    answer = _stream(*ENDED)
    log = answer.event_log("chatcmpl-new", 1800000000.5, TimelineSpec(), True, include_usage=False)
    body = log.frames(0, len(log))
    assert bytes(body) == b"".join(ENDED).replace(b"chatcmpl-rec0001", b"chatcmpl-new").replace(
        b'"created":1700000000', b'"created":1800000000'
    )
    completion = orjson.loads(answer.completion_json("chatcmpl-two", 5.0))
    assert completion["id"] == "chatcmpl-two" and completion["created"] == 5


def test_a_stream_recorded_without_its_end_adds_up_to_a_finished_completion() -> None:
    answer = _stream(*TEXT_FRAMES)
    assert answer.frames[-1] == b"data: [DONE]\n\n"
    completion = orjson.loads(answer.completion)
    assert completion["object"] == "chat.completion" and completion["choices"][0]["finish_reason"] == "stop"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Hi there", "refusal": None}


def test_tool_call_pieces_add_up_to_one_call() -> None:
    first = {"role": "assistant", "content": None, "tool_calls": [{"index": 0, "id": "call_1", "type": "function"}]}
    first["tool_calls"][0]["function"] = {"name": "get_weather", "arguments": ""}
    pieces = [
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}) for part in ('{"city"', ':"Oslo"}')
    ]
    answer = _stream(_chunk(first), *pieces, _chunk({}, "tool_calls"), b"data: [DONE]\n\n")
    [choice] = orjson.loads(answer.completion)["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    ]


def test_an_unstreamed_recording_streams_word_by_word_with_usage_only_when_asked() -> None:
    answers = chat_answers_of(load_cassette(CASSETTE), str(CASSETTE))
    unstreamed = next(answer for answer in answers if not answer.streamed)
    for include_usage in (False, True):
        log = unstreamed.event_log("chatcmpl-x", 0.0, TimelineSpec(), True, include_usage)
        chunks = parse_frames(bytes(log.frames(0, len(log))))
        text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
        assert text == orjson.loads(unstreamed.completion)["choices"][0]["message"]["content"]
        assert [chunk["usage"]["total_tokens"] for chunk in chunks if "usage" in chunk] == (
            [35] if include_usage else []
        )
        assert {chunk["id"] for chunk in chunks} == {"chatcmpl-x"}


def test_chat_creates_match_chat_recordings_only() -> None:
    path = str(CASSETTE)
    recordings = Recordings.load([path], ("method", "path", "input"), Unmatched.ERROR)
    assert len(recordings.chats) == 3 and recordings.answers == []
    body = orjson.dumps({"model": "x", "messages": [{"role": "user", "content": "What is the temperature in Oslo?"}]})
    found = recordings.match_chat("POST", URL, {"Content-Type": "application/json"}, body)
    assert found is not None and found.source == f"{path}#0"
    with pytest.raises(APIError) as raised:  # the same request to /v1/responses: no Responses recording
        recordings.match("POST", "http://127.0.0.1:9/v1/responses", {}, body)
    assert "hold no responses" in raised.value.message


def test_a_chunk_of_the_wrong_shape_is_a_one_line_cassette_error() -> None:
    far = _chunk({"tool_calls": [{"index": 10**9, "function": {"arguments": "{}"}}]})
    with pytest.raises(CassetteError) as raised:
        _stream(TEXT_FRAMES[0], far)
    assert str(raised.value).startswith("s.yaml: interactions[0]: not a chat completion") and "\n" not in str(
        raised.value
    )
