"""Bad input gets a 4xx OpenAI error envelope, is journaled, and the server keeps serving."""

from __future__ import annotations

import pytest

from mock_server import ServerThread
from tests.raw_http import send

ENVELOPE_KEYS = {"message", "type", "param", "code"}


def assert_envelope(reply, status: int, param: str | None = None) -> dict:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    error = reply.json()["error"]
    assert set(error) == ENVELOPE_KEYS
    assert isinstance(error["message"], str) and error["message"]
    if param is not None:
        assert error["param"] == param
    return error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2]", None),
        (b'"a string"', None),
        (b'{"input": "hi"}', "model"),
        (b'{"model": "gpt-4o"}', "input"),
        (b'{"model": 5, "input": "hi"}', "model"),
        (b'{"model": "gpt-4o", "input": 5}', "input"),
        (b'{"model": "gpt-4o", "input": [5]}', "input[0]"),
        (b'{"model": "gpt-4o", "input": "hi", "background": "yes"}', "background"),
        (b'{"model": "gpt-4o", "input": "hi", "stream": 1}', "stream"),
        (b'{"model": "gpt-4o", "input": "hi", "metadata": []}', "metadata"),
        (b'{"model": "gpt-4o", "input": "hi", "metadata": {"k": 1}}', "metadata.k"),
        (b'{"model": "gpt-4o", "input": "hi", "temperature": "hot"}', "temperature"),
        (b'{"model": "gpt-4o", "input": "hi", "max_output_tokens": 0}', "max_output_tokens"),
        (b'{"model": "gpt-4o", "input": "hi", "background": true, "store": false}', "store"),
    ],
)
def test_bad_response_bodies_are_400(mock: ServerThread, body: bytes, param: str | None) -> None:
    reply = send("POST", f"{mock.base_url}/responses", body=body)
    assert_envelope(reply, 400, param)
    assert mock.call(lambda: len(mock.server.state.store)) == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"model": "gpt-4o"}', "messages"),
        (b'{"model": "gpt-4o", "messages": []}', "messages"),
        (b'{"model": "gpt-4o", "messages": "hi"}', "messages"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": 3}]}', "messages[0].content"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream_options": 1}', "stream_options"),
    ],
)
def test_bad_chat_bodies_are_400(mock: ServerThread, body: bytes, param: str) -> None:
    assert_envelope(send("POST", f"{mock.base_url}/chat/completions", body=body), 400, param)


@pytest.mark.parametrize("cursor", ["abc", "1.5", "", "-2", "9" * 400, "%00"])
def test_cursor_that_is_not_a_whole_number_is_400(mock: ServerThread, cursor: str) -> None:
    created = send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "x", "background": True})
    response_id = created.json()["id"]
    reply = send("GET", f"{mock.base_url}/responses/{response_id}?stream=true&starting_after={cursor}")
    if cursor == "9" * 400:
        # A huge whole number is a valid cursor past the end: nothing to send.
        assert reply.status == 200
    else:
        assert_envelope(reply, 400, "starting_after")


def test_bad_stream_flag_is_400(mock: ServerThread) -> None:
    created = send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "x", "background": True})
    reply = send("GET", f"{mock.base_url}/responses/{created.json()['id']}?stream=maybe")
    assert_envelope(reply, 400, "stream")


def test_huge_body_is_413_and_server_survives(mock: ServerThread) -> None:
    huge = b'{"model": "m", "input": "' + b"x" * (2 << 20) + b'"}'
    assert_envelope(send("POST", f"{mock.base_url}/responses", body=huge), 413)
    assert send("GET", f"{mock.url}/_bgr/health").status == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nothing-here", 404),
        ("GET", "/", 404),
        ("POST", "/v1/responses/resp_x/unknown", 404),
        ("PUT", "/v1/responses", 405),
        ("GET", "/v1/responses", 405),
        ("GET", "/_bgr/responses/resp_missing/truth", 404),
        ("GET", "/_bgr/journal?since=abc", 400),
    ],
)
def test_unknown_paths_and_methods(mock: ServerThread, method: str, path: str, status: int) -> None:
    assert_envelope(send(method, f"{mock.url}{path}"), status)


def test_rejected_requests_are_journaled_and_serving_continues(mock: ServerThread) -> None:
    send("POST", f"{mock.base_url}/responses", body=b"{broken")
    send("GET", f"{mock.base_url}/responses/resp_nope")
    ok = send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "fine"})
    assert ok.status == 200
    entries = mock.journal()
    outcomes = [(entry.status, entry.error_code) for entry in entries]
    assert outcomes == [(400, "invalid_json"), (404, "invalid_request_error"), (200, None)]
    assert entries[1].response_id == "resp_nope"
