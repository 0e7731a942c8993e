"""Sending an event log to a client: what is released now in one write, then the live tail."""

from __future__ import annotations

import asyncio

from aiohttp import web

from mock_server.clock import Clock
from mock_server.event_log import EventLog
from mock_server.exchange import journal_entry
from mock_server.store import StoredResponse

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


async def send_events(
    request: web.Request,
    log: EventLog,
    start: int,
    clock: Clock,
    response: StoredResponse | None = None,
) -> web.StreamResponse:
    """Send frames `start`.. of `log` as each is released, until the log ends.

    `response`, when given, can end the stream early (cancel, delete) and wakes the sender.
    """
    end = len(log)
    if start >= end or log.visible_at(end - 1) <= clock.now():
        # Everything is already released: one body with a length, no chunked framing.
        return web.Response(body=log.frames(min(start, end), end), headers=SSE_HEADERS)
    stream = web.StreamResponse(headers=SSE_HEADERS)
    await stream.prepare(request)
    loop = asyncio.get_running_loop()
    sent = start
    try:
        while True:
            now = clock.now()
            released = log.visible_count(now)
            if released > sent:
                await stream.write(log.frames(sent, released))
                sent = released
            if sent >= len(log) or (response is not None and response.deleted):
                break
            delay = clock.real_seconds(log.visible_at(sent) - now)
            if response is None:
                await asyncio.sleep(delay)
            else:
                await response.wait_for_change(loop, delay)
        await stream.write_eof()
    except ConnectionResetError:
        journal_entry(request).notes.append(f"client went away after {sent - start} events")
    return stream
