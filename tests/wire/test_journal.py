"""The journal: every request with its time, essentials, headers and outcome."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI

from mock_server import ServerThread
from mock_server.journal import Journal, JournalEntry
from tests.raw_http import send


def test_requests_are_journaled_in_order_with_times(client: OpenAI, mock: ServerThread) -> None:
    created = client.responses.create(model="gpt-4o", input="Journal me.", background=True, metadata={"a": "b"})
    client.responses.retrieve(created.id)
    client.responses.cancel(created.id)
    entries = mock.journal()

    assert [(e.method, e.path) for e in entries] == [
        ("POST", "/v1/responses"),
        ("GET", f"/v1/responses/{created.id}"),
        ("POST", f"/v1/responses/{created.id}/cancel"),
    ]
    assert all(e.response_id == created.id and e.status == 200 for e in entries)
    times = [e.received_at for e in entries]
    assert times == sorted(times)
    assert all(e.answered_at is not None and e.answered_at >= e.received_at for e in entries)
    assert entries[0].headers["x-stainless-retry-count"] == "0"
    assert entries[0].body["background"] is True and entries[0].body["has_input"] is True
    assert entries[0].body["input_preview"] == "Journal me."
    assert entries[1].body == {}


def test_sdk_retries_are_visible_in_the_journal(mock: ServerThread) -> None:
    with OpenAI(base_url=mock.base_url, api_key="k", max_retries=2) as client, pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_missing")
    # A 404 is not retried: exactly one attempt, marked as the first.
    assert [e.headers.get("x-stainless-retry-count") for e in mock.journal()] == ["0"]


def test_stream_and_cursor_are_journaled(client: OpenAI, mock: ServerThread) -> None:
    created = client.responses.create(model="gpt-4o", input="x", background=True)
    list(client.responses.retrieve(created.id, stream=True, starting_after=4))
    entry = mock.journal()[-1]
    assert entry.query == {"stream": "true", "starting_after": "4"}


def test_journal_over_the_admin_api_is_not_itself_journaled(mock: ServerThread) -> None:
    send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "one"}, headers={"X-Bgr-Case": "c1"})
    send("POST", f"{mock.base_url}/responses", json_body={"model": "m", "input": "two"})
    first = send("GET", f"{mock.url}/_bgr/journal").json()
    second = send("GET", f"{mock.url}/_bgr/journal?since=1").json()
    assert [e["body"]["input_preview"] for e in first["entries"]] == ["one", "two"]
    assert first["entries"][0]["headers"]["x-bgr-case"] == "c1"
    assert [e["index"] for e in second["entries"]] == [1]
    assert first["dropped"] == 0
    response_id = first["entries"][1]["response_id"]
    only = send("GET", f"{mock.url}/_bgr/journal?response_id={response_id}").json()
    assert [e["index"] for e in only["entries"]] == [1]


def test_journal_limit_drops_oldest_and_counts_them() -> None:
    journal = Journal(limit=3)
    for n in range(5):
        journal.add(JournalEntry(received_at=float(n), method="GET", path="/", query={}, headers={}, body_bytes=0))
    assert journal.dropped == 2
    assert [e.index for e in journal.entries()] == [2, 3, 4]
    assert [e.index for e in journal.entries(since=4)] == [4]
    assert [e.index for e in journal.entries(since=0)] == [2, 3, 4]
