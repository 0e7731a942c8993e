"""The bytes of a Responses stream, as CONTRACT.md section 2 describes them."""

from __future__ import annotations

import json

from mock_server import ServerThread
from tests.raw_http import send


def frames_of(raw: bytes) -> list[tuple[str, dict]]:
    assert raw.endswith(b"\n\n") and b"\r" not in raw
    frames = []
    for block in raw[:-2].split(b"\n\n"):
        event_line, data_line = block.split(b"\n")
        assert event_line.startswith(b"event: ") and data_line.startswith(b"data: ")
        payload = json.loads(data_line[6:])
        assert payload["type"] == event_line[7:].decode()
        frames.append((payload["type"], payload))
    return frames


def test_background_stream_frames(mock: ServerThread) -> None:
    body = {"model": "gpt-4o", "input": "Frames.", "background": True, "stream": True}
    reply = send("POST", f"{mock.base_url}/responses", json_body=body)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    frames = frames_of(reply.body)
    assert [payload["sequence_number"] for _, payload in frames] == list(range(len(frames)))
    for kind, payload in frames:
        if kind == "response.output_text.delta":
            assert set(payload) >= {"item_id", "output_index", "content_index", "delta", "logprobs"}
            assert payload["logprobs"] == []


def test_replay_is_byte_identical_to_the_original_stream(mock: ServerThread) -> None:
    body = {"model": "gpt-4o", "input": "Replay.", "background": True, "stream": True}
    original = send("POST", f"{mock.base_url}/responses", json_body=body).body
    response_id = frames_of(original)[0][1]["response"]["id"]
    url = f"{mock.base_url}/responses/{response_id}?stream=true"
    assert send("GET", url).body == original
    tail = send("GET", f"{url}&starting_after=9").body
    assert original.endswith(tail) and frames_of(tail)[0][1]["sequence_number"] == 10
    assert send("GET", f"{url}&starting_after=-1").body == original


def test_ground_truth_over_the_admin_api(mock: ServerThread) -> None:
    body = {"model": "gpt-4o", "input": "Truth.", "background": True, "stream": True}
    frames = frames_of(send("POST", f"{mock.base_url}/responses", json_body=body).body)
    response_id = frames[0][1]["response"]["id"]
    truth = send("GET", f"{mock.url}/_bgr/responses/{response_id}/truth").json()
    assert truth["events"] == [payload for _, payload in frames]
    assert truth["text"] == "".join(p["delta"] for kind, p in frames if kind == "response.output_text.delta")
    assert truth["final_status"] == "completed"
    assert truth == mock.ground_truth(response_id)
