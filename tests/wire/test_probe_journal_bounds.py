"""Probe: the journal is bounded by bytes as well as by entries, and says exactly what it let go."""

from __future__ import annotations

import http.client
from collections.abc import Callable

import orjson

from mock_server import ServerConfig, ServerThread
from mock_server.journal import ENTRY_BYTES, Journal, JournalEntry
from tests.raw_http import send

BIG = 8000
"""A header value near aiohttp's 8,190-byte limit for one field."""


def entry(note: str = "") -> JournalEntry:
    headers = {"x-bgr-note": note}
    return JournalEntry(received_at=0.0, method="GET", path="/v1/x", query={}, headers=headers, body_bytes=0)


def test_large_entries_push_out_the_oldest_by_bytes() -> None:
    journal = Journal(limit=1_000_000, max_bytes=200_000)
    for _ in range(3000):
        journal.add(entry("x" * BIG))
    assert journal.bytes <= 200_000
    assert len(journal) == 200_000 // (ENTRY_BYTES + BIG + len("GET/v1/xx-bgr-note"))
    assert journal.dropped == 3000 - len(journal)
    assert journal.entries()[0].index == journal.dropped


def test_an_entry_that_grows_after_it_is_added_is_counted_again() -> None:
    journal = Journal(max_bytes=10 * (ENTRY_BYTES + 100))
    first = entry()
    journal.add(first)
    for _ in range(5):
        journal.add(entry())
    before = journal.bytes
    first.notes.append("n" * 50_000)
    journal.settle(first)
    # Over the bound now: the oldest, which is the grown one, goes, and the bound holds again.
    assert journal.dropped == 1 and len(journal) == 5
    assert journal.bytes == before - (ENTRY_BYTES + len("GET/v1/xx-bgr-note")) <= journal.max_bytes


def test_clearing_is_not_dropping_and_indexes_carry_on() -> None:
    journal = Journal(limit=3)
    for _ in range(5):
        journal.add(entry())
    assert (journal.dropped, journal.cleared) == (2, 0)
    assert journal.clear() == 3
    assert (journal.dropped, journal.cleared, journal.next_index, len(journal)) == (2, 3, 5, 0)
    journal.add(entry())
    assert [e.index for e in journal.entries(since=0)] == [5]
    assert journal.entries(since=6) == []


def test_over_the_wire_the_journal_stays_within_its_bytes(start_mock: Callable[..., ServerThread]) -> None:
    limit = 1 << 20
    mock = start_mock(ServerConfig(journal_max_bytes=limit))
    connection = http.client.HTTPConnection("127.0.0.1", mock.server.port, timeout=30)
    try:
        for n in range(600):  # 600 x 8 KB: nearly five times the bound
            connection.request("GET", f"/v1/responses/resp_{n}", headers={"X-Bgr-Note": "y" * BIG})
            assert connection.getresponse().read()
    finally:
        connection.close()
    journal = send("GET", f"{mock.url}/_bgr/journal").json()
    held = journal["entries"]
    assert journal["dropped"] > 0 and journal["cleared"] == 0
    assert journal["dropped"] + len(held) == journal["next_index"] == 600
    assert sum(len(orjson.dumps(e)) for e in held) <= limit  # what a reader gets stays within the bound too
    assert [e["path"] for e in held][-1] == "/v1/responses/resp_599"

    cleared = send("DELETE", f"{mock.url}/_bgr/journal").json()
    assert cleared == {"cleared": True, "entries": len(held)}
    after = send("GET", f"{mock.url}/_bgr/journal").json()
    assert (after["dropped"], after["cleared"], after["next_index"]) == (journal["dropped"], len(held), 600)
    assert after["entries"] == []
