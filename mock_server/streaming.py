"""Sending an event log to a client: what is released now in one write, then the live tail.

Without stream faults this is the fast path: one write of everything released, one
more per wake-up. With faults, each event goes through the stream filters (event
filters, then byte filters) and their actions are carried out in order.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from dataclasses import dataclass, field

from aiohttp import web

from mock_server.clock import Clock
from mock_server.event_log import EventLog
from mock_server.exchange import journal_entry
from mock_server.faults.base import EVENT_STAGE, HOLD_SECONDS, Action, Chunk, Close, Pause, StreamFilter
from mock_server.store import StoredResponse

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
LONGEST_WAIT_SECONDS = HOLD_SECONDS
"""A stream waiting on something that may never come (polls, a stall) gives up after this."""
DELIVERY_WAIT_SECONDS = 10.0
"""Real seconds a reset waits for the peer to acknowledge what was sent (a peer that reads nothing)."""
DELIVERY_POLL_SECONDS = 0.001


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
    sender = _FilteredSender(request, stream, clock, filters or [], close_at)
    sent = start
    try:
        while True:
            # A response's own count, not the log's: a cancel after this log was rendered ends it too.
            released = log.visible_count(now()) if response is None else response.visible_events(now())
            if released > sent:
                if filters:
                    for sequence_number in range(sent, released):
                        await sender.send(log.frame(sequence_number), sequence_number)
                else:
                    await stream.write(log.frames(sent, released))
                    sender.events += released - sent
                sent = released
            if sent >= len(log) or (response is not None and (response.deleted or response.cancelled_at is not None)):
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
        await _close(request, reset=False)  # a no-op if a fault closed it already; never a clean end
        journal_entry(request).notes.append(f"connection dropped by fault after {sender.events} events")
    except ConnectionResetError:
        journal_entry(request).notes.append(f"client went away after {sender.events} events")
    return stream


@dataclass(slots=True)
class _FilteredSender:
    """Sends events through the stream filters (event filters, then byte filters) and counts the
    events that reached the connection whole, so that the journal's note says exactly how many."""

    request: web.Request
    stream: web.StreamResponse
    clock: Clock
    filters: list[StreamFilter]
    close_at: float
    """Scenario time by which the stream ends, pauses included."""
    events: int = 0
    _event_filters: list[StreamFilter] = field(init=False)
    _byte_filters: list[StreamFilter] = field(init=False)

    def __post_init__(self) -> None:
        self._event_filters = [f for f in self.filters if f.stage == EVENT_STAGE]
        self._byte_filters = [f for f in self.filters if f.stage != EVENT_STAGE]

    async def send(self, frame: bytes, sequence_number: int) -> None:
        for event in _through(self._event_filters, Chunk(frame, sequence_number)):
            if not isinstance(event, Chunk):
                await self._perform(event)
                continue
            written = 0
            for action in _through(self._byte_filters, event):
                if isinstance(action, Close) and written == len(event.data):
                    self.events += 1  # closed right after the event's last byte: it arrived whole
                await self._perform(action)
                if isinstance(action, Chunk):
                    written += len(action.data)
            self.events += 1

    async def _perform(self, action: Action) -> None:
        if isinstance(action, Chunk):
            await self.stream.write(action.data)
        elif isinstance(action, Pause):
            await self.clock.sleep(min(action.seconds, self.close_at - self.clock.now()))
            if self.clock.now() >= self.close_at:
                raise _Dropped  # no pause outlasts the stream's own bound
        elif isinstance(action, Close):
            await _close(self.request, reset=action.reset)
            raise _Dropped


def _through(filters: list[StreamFilter], action: Action) -> list[Action]:
    actions = [action]
    for stream_filter in filters:
        actions = [out for action in actions for out in stream_filter.feed(action)]
    return actions


async def _close(request: web.Request, *, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            await _delivered(transport, sock)
            # Linger 0: close() sends RST and discards anything unsent.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


async def _delivered(transport: asyncio.BaseTransport, sock: socket.socket) -> None:
    """Wait (a bounded while) until the peer has acknowledged every byte written: a RST discards
    whatever is still buffered, here or in the kernel, and "reset after N events" must mean N."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DELIVERY_WAIT_SECONDS
    while loop.time() < give_up:
        buffered = transport.get_write_buffer_size() if isinstance(transport, asyncio.WriteTransport) else 0
        if buffered == 0 and _unacknowledged_bytes(sock) == 0:
            return
        await asyncio.sleep(DELIVERY_POLL_SECONDS)


def _unacknowledged_bytes(sock: socket.socket) -> int:
    """Bytes the kernel holds for the socket that the peer has not acknowledged (0 where it cannot tell)."""
    request = getattr(termios, "TIOCOUTQ", None)  # SIOCOUTQ on Linux
    if request is None:
        return 0
    try:
        raw = fcntl.ioctl(sock.fileno(), request, b"\0" * 4)
    except OSError:
        return 0
    return int(struct.unpack("i", raw)[0])
