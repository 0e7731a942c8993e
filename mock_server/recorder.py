"""A recording proxy: any agent talks to an OpenAI-compatible upstream through it, and it writes a cassette.

The agent points its `base_url` at the proxy; every request is forwarded as it came (its key included:
the upstream needs it) and every answer is passed back chunk by chunk as it arrives, so streams keep
their pacing. Each finished exchange is added to the cassette, which is rewritten whole at once, so a
recorder killed mid-session leaves a cassette of what was finished. Secrets never reach the file
(`mock_server.cassette.FILTERED_HEADERS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from mock_server.cassette import Interaction, write_cassette

__all__ = ["RecordingProxy"]

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)
"""Headers of one hop, not of the exchange: aiohttp sets its own. Bodies travel unencoded, so they are
recorded as the agent reads them."""
_FRAME_END = re.compile(rb"\r?\n\r?\n")


class RecordingProxy:
    """Forwards to `upstream` (its root, or its /v1 URL) and records every exchange into `cassette`."""

    def __init__(self, upstream: str, cassette: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream.rstrip("/").removesuffix("/v1")
        self.cassette = Path(cassette)
        self.host, self.port = host, port
        self.interactions: list[Interaction] = []
        self._origin: float | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self.cassette.exists():
            raise FileExistsError(f"{self.cassette} exists: bgr never overwrites a recording; name another file")
        # No timeout: a background stream may stay open for minutes; the upstream decides when it ends.
        # Decoded if an upstream compresses anyway: the agent and the cassette get the same plain bytes.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RecordingProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def _now(self) -> float:
        now = time.monotonic()
        if self._origin is None:
            self._origin = now
        return now - self._origin

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        started = self._now()
        body = await request.read()
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP}
        headers["Accept-Encoding"] = "identity"
        url = self.upstream + request.path_qs
        try:
            upstream = await self._session.request(request.method, url, data=body or None, headers=headers)
        except aiohttp.ClientError as error:
            message = f"bgr record: the upstream {self.upstream} cannot be reached ({type(error).__name__})"
            return web.json_response(
                {
                    "error": {
                        "message": message,
                        "type": "upstream_error",
                        "param": None,
                        "code": "upstream_unreachable",
                    }
                },
                status=502,
            )
        chunks: list[bytes] = []
        arrived: list[float] = []
        async with upstream:
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    answer.headers.add(name, value)
            await answer.prepare(request)
            listening = True
            async for chunk in upstream.content.iter_any():
                chunks.append(chunk)
                arrived.append(self._now() - started)
                if listening:
                    try:
                        await answer.write(chunk)
                    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                        # The agent went away (a cut it made): the upstream's answer is still recorded whole.
                        listening = False
            response_headers: dict[str, list[str]] = {}
            for name, value in upstream.headers.items():
                response_headers.setdefault(str(name), []).append(str(value))
            status, reason = upstream.status, upstream.reason or ""
        recorded_body = b"".join(chunks)
        from vcr.request import Request  # vcrpy only where a cassette is made: see mock_server.cassette

        interaction = Interaction(
            request=Request(
                request.method, str(request.url), body, {str(k): str(v) for k, v in request.headers.items()}
            ),
            status=status,
            reason=reason,
            headers=response_headers,
            body=recorded_body,
            started=started,
        )
        if interaction.is_event_stream:
            interaction = _with_event_times(interaction, chunks, arrived)
        async with self._lock:
            self.interactions.append(interaction)
            # In the order the requests came, as vcrpy plays them: a cut stream's upstream may end after its resume.
            self.interactions.sort(key=lambda recorded: recorded.started or 0.0)
            write_cassette(self.cassette, self.interactions)
        if listening:
            with contextlib.suppress(ConnectionResetError, aiohttp.ClientConnectionResetError):
                await answer.write_eof()
        return answer


def _with_event_times(interaction: Interaction, chunks: list[bytes], arrived: list[float]) -> Interaction:
    """Each event's time is when the chunk that ended it arrived."""
    times, offset, ends = [], 0, iter(_FRAME_END.finditer(interaction.body))
    end = next(ends, None)
    for chunk, at in zip(chunks, arrived, strict=True):
        offset += len(chunk)
        while end is not None and end.end() <= offset:
            times.append(at)
            end = next(ends, None)
    return Interaction(
        interaction.request,
        interaction.status,
        interaction.reason,
        interaction.headers,
        interaction.body,
        interaction.started,
        tuple(times),
    )
