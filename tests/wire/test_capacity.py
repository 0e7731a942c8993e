"""Capacity: `bgr serve` holds 100,000 background responses, each with its own prompt, in under 1 GiB resident.

A memory assert, not a timing one: the creation loop is bounded in count and in time only so a
hung server fails the test instead of hanging it. About 20 s on the 2-core reference machine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path

import aiohttp

from mock_server.serve_command import bgr_serve

RESPONSES = 100_000
CONNECTIONS = 4
BATCH = 64
"""Requests in flight per connection: enough to keep the server busy; few enough to be polite to a 2-core machine."""
CREATE_DEADLINE_SECONDS = 120.0
RSS_LIMIT_BYTES = 1 << 30


def test_a_hundred_thousand_background_responses_fit_in_a_gibibyte() -> None:
    with bgr_serve(start_seconds=20.0) as server:
        root = server.root
        rss_idle = _rss_bytes(server.pid)

        started = time.perf_counter()
        ids = asyncio.run(_create_background_responses(root, RESPONSES))
        elapsed = time.perf_counter() - started
        assert len(set(ids)) == RESPONSES

        health = asyncio.run(_get_json(f"{root}/_bgr/health"))
        assert health["responses"] == RESPONSES
        rss = _rss_bytes(server.pid)
        per_response = (rss - rss_idle) / RESPONSES
        # Reported, not asserted: the figures a capacity plan needs.
        print(
            f"\nbgr RSS with {RESPONSES:,} background responses: {rss / 2**20:.1f} MiB "
            f"(idle {rss_idle / 2**20:.1f} MiB, {per_response:,.0f} bytes per response; "
            f"created in {elapsed:.1f} s)"
        )
        assert rss < RSS_LIMIT_BYTES, f"RSS {rss / 2**20:.1f} MiB for {RESPONSES} responses"
        server.stop()
        assert "Traceback" not in server.stderr_text()


async def _create_background_responses(root: str, count: int) -> list[str]:
    """POST `count` distinct background requests over CONNECTIONS pipelined connections; returns their ids.

    Pipelined raw HTTP/1.1 (BATCH requests written at once, then their answers read in order): an SDK or
    aiohttp client would take longer than the server to make 100,000 requests.
    """
    host, port = root.removeprefix("http://").split(":")
    numbers = iter(range(count))  # shared by the connections: each request is sent exactly once
    ids: list[str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while batch := list(itertools.islice(numbers, BATCH)):
                writer.write(b"".join(map(_create_request, batch)))
                for _ in batch:
                    ids.append(await _read_created_id(reader))
        finally:
            writer.close()

    async with asyncio.timeout(CREATE_DEADLINE_SECONDS):
        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return ids


def _create_request(number: int) -> bytes:
    body = json.dumps({"model": "gpt-4o", "input": f"Capacity request number {number}.", "background": True})
    return (
        b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode())
    )


async def _read_created_id(reader: asyncio.StreamReader) -> str:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines if line)
    body = json.loads(await reader.readexactly(int(headers["Content-Length"])))
    assert status_line.split()[1] == "200", (status_line, body)
    assert body["status"] == "queued" and body["background"] is True, body
    return str(body["id"])


async def _get_json(url: str) -> dict[str, object]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        session.get(url) as response,
    ):
        assert response.status == 200
        payload: dict[str, object] = await response.json()
        return payload


def _rss_bytes(pid: int) -> int:
    """Resident set size of a live process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line
            return int(value) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
