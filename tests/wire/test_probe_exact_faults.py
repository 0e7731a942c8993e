"""Probe: faults do exactly what they say, however far the stream has been released, and the journal
says exactly what they did. Repeated over many k (bounded), each over a real socket."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx2
import openai
import pytest
import yaml
from openai import OpenAI

from harness.conformance.tool import WEATHER
from mock_server import ServerConfig, ServerThread, Timing
from tests.paths import ROOT
from tests.raw_http import send

ANSWER_TOKENS = 150
"""About 160 events: far past the ~33 that once fitted in the kernel's buffers before a reset."""
BEHAVIOURS = ROOT / "docs" / "behaviours.md"


@pytest.fixture
def released_mock(start_mock: Callable[..., ServerThread]) -> ServerThread:
    """Every event of a response is released the moment it is created."""
    return start_mock(ServerConfig(background=Timing(), answer_tokens=ANSWER_TOKENS))


def read_raw_stream(mock: ServerThread, faults: list[dict], **fields: object) -> bytes:
    """A streamed create with these faults (and body `fields`), read until the server closes or resets; the SSE body."""
    body = json.dumps({"model": "m", "input": "exact probe", "background": True, "stream": True, **fields}).encode()
    head = (
        b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nX-Bgr-Faults: %s\r\n\r\n" % (len(body), json.dumps(faults).encode())
    )
    received = b""
    with socket.create_connection(("127.0.0.1", mock.server.port), timeout=30) as sock:
        sock.sendall(head + body)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return dechunk(received.partition(b"\r\n\r\n")[2])


def dechunk(raw: bytes) -> bytes:
    """The payload of a chunked body, up to where it was cut."""
    payload = b""
    while raw:
        size_line, found, rest = raw.partition(b"\r\n")
        if not found:
            break
        size = int(size_line, 16)
        if size == 0:
            break
        payload += rest[:size]
        raw = rest[size + 2 :]
    return payload


def whole_events(payload: bytes) -> list[int]:
    """Sequence numbers of the events received whole."""
    frames = payload.split(b"\n\n")[:-1]  # what follows the last blank line is incomplete
    return [json.loads(frame.split(b"data: ", 1)[1])["sequence_number"] for frame in frames]


def documented_rules(fault: str) -> list[dict]:
    """The rules of a fault's example in docs/behaviours.md, as the page shows them."""
    section = BEHAVIOURS.read_text(encoding="utf-8").split(f"\n### {fault}\n", 1)[1]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def last_note(mock: ServerThread) -> str:
    return mock.journal()[-1].notes[-1]


@pytest.mark.parametrize("k", range(30, 160, 4))
def test_reset_after_k_events_of_a_released_stream_delivers_exactly_k(released_mock: ServerThread, k: int) -> None:
    received = whole_events(read_raw_stream(released_mock, [{"type": "reset", "after_events": k}]))
    assert received == list(range(k))
    assert last_note(released_mock) == f"connection dropped by fault after {k} events"


@pytest.mark.parametrize("k", [34, 60, 100, 140])
def test_reset_after_k_events_seen_through_the_sdk(released_mock: ServerThread, k: int) -> None:
    seen: list[int] = []
    with OpenAI(base_url=released_mock.base_url, api_key="k", max_retries=0) as client:
        headers = {"X-Bgr-Faults": json.dumps([{"type": "reset", "after_events": k}])}
        stream = client.responses.create(
            model="m", input="sdk probe", background=True, stream=True, extra_headers=headers
        )
        with pytest.raises((openai.APIConnectionError, httpx2.HTTPError)):
            for event in stream:
                seen.append(event.sequence_number)
    assert seen == list(range(k))


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ([{"type": "drop_after_events", "events": 12}], 12),
        ([{"type": "reset", "after_events": 12}], 12),
        ([{"type": "sequence_gap", "at_sequence": 3}, {"type": "drop_after_events", "events": 12}], 12),
        ([{"type": "slice_writes", "size": 7}, {"type": "drop_after_events", "events": 5}], 5),
    ],
)
def test_the_journal_counts_the_events_sent_on_a_released_stream(
    released_mock: ServerThread, faults: list[dict], expected: int
) -> None:
    received = whole_events(read_raw_stream(released_mock, faults))
    assert len(received) == expected
    assert last_note(released_mock) == f"connection dropped by fault after {expected} events"


def test_the_journal_counts_whole_events_when_cut_mid_event_or_at_a_boundary(released_mock: ServerThread) -> None:
    whole = read_raw_stream(released_mock, [{"type": "drop_after_events", "events": 4}])
    boundary = len(whole)
    for cut, events in ((boundary, 4), (boundary + 10, 4), (boundary - 1, 3)):
        received = whole_events(read_raw_stream(released_mock, [{"type": "drop_after_bytes", "bytes": cut}]))
        assert len(received) == events
        assert last_note(released_mock) == f"connection dropped by fault after {events} events"


@pytest.mark.parametrize("events", [1, 12, 40])
def test_the_journal_counts_the_events_sent_on_a_paced_stream(
    start_mock: Callable[..., ServerThread], events: int
) -> None:
    # Deltas every 2 ms: the stream is written piece by piece as they are released.
    mock = start_mock(ServerConfig(background=Timing(tokens_per_second=500.0), answer_tokens=60))
    received = whole_events(read_raw_stream(mock, [{"type": "drop_after_events", "events": events}]))
    assert received == list(range(events))
    assert last_note(mock) == f"connection dropped by fault after {events} events"


def test_a_pause_never_outlasts_the_streams_own_bound(start_mock: Callable[..., ServerThread]) -> None:
    mock = start_mock(ServerConfig(background=Timing(), answer_tokens=10))
    # 0.2 s pauses between 1-byte writes, but the stream may stay open 0.5 s only: it is cut, not held.
    faults = [{"type": "drop_after_seconds", "seconds": 0.5}, {"type": "slice_writes", "size": 1, "pause_seconds": 0.2}]
    payload = read_raw_stream(mock, faults)
    assert 0 < len(payload) < 20
    assert last_note(mock).startswith("connection dropped by fault after 0 events")


@pytest.mark.parametrize("tools", [[], [WEATHER]], ids=["no-tool", "the-harness-tool"])
def test_the_documented_drop_after_bytes_cuts_mid_way_through_a_delta(released_mock: ServerThread, tools: list) -> None:
    # The first three events carry the whole Response, and so every tool offered: the example's byte
    # count must land in the text whether or not the agent offers the harness's tool, as every agent does.
    (rule,) = documented_rules("drop_after_bytes")
    assert send("POST", f"{released_mock.url}/_bgr/rules", json_body=rule).status == 200
    payload = read_raw_stream(released_mock, [], model="gpt-4o", input="Write a poem. [cut]", tools=tools)
    assert len(payload) == rule["faults"][0]["bytes"]
    partial = payload.split(b"\n\n")[-1]
    assert partial.startswith(b"event: response.output_text.delta\ndata: {"), partial[:80]
