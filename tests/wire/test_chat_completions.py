"""Chat Completions, streamed and not, through the real SDK in strict mode."""

from __future__ import annotations

from openai import OpenAI

from mock_server import ServerThread
from tests.raw_http import send

MESSAGES = [{"role": "system", "content": "Be helpful."}, {"role": "user", "content": "Write a poem."}]


def test_chat_completion(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "stop"
    text = completion.choices[0].message.content
    assert text and text.endswith(".")
    assert completion.usage is not None and completion.usage.completion_tokens == 24


def test_chat_completion_stream_matches_the_unstreamed_answer(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert len({chunk.id for chunk in chunks}) == 1
    unstreamed = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert streamed == unstreamed.choices[0].message.content


def test_chat_stream_wire_format(mock: ServerThread) -> None:
    """`data:` frames only, no `event:` line, LF endings, ending with `data: [DONE]`."""
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    raw = send("POST", f"{mock.base_url}/chat/completions", json_body=body).body
    assert raw.endswith(b"data: [DONE]\n\n")
    assert b"\r" not in raw and b"event:" not in raw
    frames = raw.split(b"\n\n")[:-1]
    assert all(frame.startswith(b"data: ") and b"\n" not in frame for frame in frames)
