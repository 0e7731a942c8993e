"""Sending an event log to a client: what is released now in one write, then the live tail.

Without stream faults this is the fast path: one write of everything released, one
more per wake-up. With faults, each event goes through the stream filters (event
filters, then byte filters) and their actions are carried out in order.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from aiohttp import web

from mock_server.clock import Clock
from mock_server.event_log import EventLog
from mock_server.exchange import journal_entry
from mock_server.faults.base import Action, Chunk, Close, Pause, StreamFilter
from mock_server.store import StoredResponse

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
LONGEST_WAIT_SECONDS = 600.0
"""A stream waiting on something that may never come (polls, a stall) gives up after this."""


class _Dropped(Exception):
    pass


async def send_events(
    request: web.Request,
    log: EventLog,
    start: int,
    clock: Clock,
    response: StoredResponse | None = None,
    filters: list[StreamFilter] | None = None,
) -> web.StreamResponse:
    """Send frames `start`.. of `log` as each is released, until the log ends.

    `response`, when given, can end the stream early (cancel, delete), wakes the sender,
    and may be paced by polls rather than time.
    """
    end = len(log)

    def now() -> float:
        return response.effective_now(clock.now()) if response is not None else clock.now()

    if not filters and (start >= end or log.visible_at(end - 1) <= now()):
        # Everything is already released: one body with a length, no chunked framing.
        return web.Response(body=log.frames(min(start, end), end), headers=SSE_HEADERS)
    stream = web.StreamResponse(headers=SSE_HEADERS)
    await stream.prepare(request)
    journal_entry(request).status = stream.status  # sent now, whatever happens to the body later
    loop = asyncio.get_running_loop()
    started = clock.now()
    close_at = started + min(
        (getattr(f, "close_after_seconds", LONGEST_WAIT_SECONDS) for f in filters or ()),
        default=LONGEST_WAIT_SECONDS,
    )
    sent = start
    try:
        while True:
            released = log.visible_count(now())
            if released > sent:
                if filters:
                    for sequence_number in range(sent, released):
                        await _send_filtered(
                            request, stream, log.frame(sequence_number), sequence_number, filters, clock
                        )
                else:
                    await stream.write(log.frames(sent, released))
                sent = released
            if sent >= len(log) or (response is not None and response.deleted):
                break
            if clock.now() >= close_at:
                raise _Dropped
            if response is not None and response.spec.paced_by_polls:
                delay = close_at - clock.now()
            else:
                delay = min(log.visible_at(sent) - now(), close_at - clock.now())
            if response is None:
                await clock.sleep(delay)
            else:
                await response.wait_for_change(loop, clock.real_seconds(delay))
        await stream.write_eof()
    except _Dropped:
        journal_entry(request).notes.append(f"connection dropped by fault after {sent - start} events")
    except ConnectionResetError:
        journal_entry(request).notes.append(f"client went away after {sent - start} events")
    return stream


async def _send_filtered(
    request: web.Request,
    stream: web.StreamResponse,
    frame: bytes,
    sequence_number: int,
    filters: list[StreamFilter],
    clock: Clock,
) -> None:
    actions: list[Action] = [Chunk(frame, sequence_number)]
    for stream_filter in filters:
        actions = [out for action in actions for out in stream_filter.feed(action)]
    for action in actions:
        if isinstance(action, Chunk):
            await stream.write(action.data)
        elif isinstance(action, Pause):
            await clock.sleep(min(action.seconds, LONGEST_WAIT_SECONDS))
        elif isinstance(action, Close):
            _close(request, reset=action.reset)
            raise _Dropped


def _close(request: web.Request, *, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends RST and discards anything unsent.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
