"""Running the mock: in the caller's event loop, or on a thread of its own for synchronous callers."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from mock_server.app import build_app
from mock_server.clock import Clock
from mock_server.config import ServerConfig
from mock_server.connection import MockAppRunner
from mock_server.journal import JournalEntry
from mock_server.rules import Rule
from mock_server.state import MockState

T = TypeVar("T")


class MockServer:
    """An OpenAI-compatible mock bound to a real socket (port 0 picks a free one)."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rules: list[Rule] | None = None,
        clock: Clock | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        """`clock`: a run's one scaled clock, shared with its callers; None makes one at `config.time_scale`.

        `sock`: a socket already bound and listening (a worker of a fleet), served instead of binding host:port.
        """
        self.config = config or ServerConfig()
        self.state = MockState.from_config(self.config, clock)
        for rule in rules or []:
            self.state.rules.add(rule)
        self.host = host
        self.port = port
        self._sock = sock
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # Idle keep-alive connections are closed at shutdown; give live streams a moment to end.
        self._runner = MockAppRunner(
            build_app(self.state),
            access_log=None,
            shutdown_timeout=1.0,
            keepalive_timeout=self.config.idle_timeout_seconds,
            read_timeout=self.config.read_timeout_seconds,
            # After an answer to a request whose body was left unread, how long to read and drop the rest.
            lingering_time=self.config.read_timeout_seconds,
        )
        await self._runner.setup()
        site: web.BaseSite
        if self._sock is not None:
            site = web.SockSite(self._runner, self._sock)
        else:
            site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self.state.store.close()

    async def __aenter__(self) -> MockServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as `base_url`."""
        return f"{self.url}/v1"

    def ground_truth(self, response_id: str) -> dict[str, Any]:
        return self.state.store.get(response_id).ground_truth()

    def journal(self, since: int = 0) -> list[JournalEntry]:
        return self.state.journal.entries(since)


class ServerThread:
    """A MockServer on its own event loop in a daemon thread; reads go through that loop."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rules: list[Rule] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.server = MockServer(config, host, port, rules, clock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bgr-mock", daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        self.call_async(self.server.start())
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.call_async(self.server.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call_async(self, coroutine: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call(self, function: Callable[[], T], timeout: float = 30.0) -> T:
        """Run `function` on the server's loop, so it never sees the state mid-change."""

        async def run() -> T:
            return function()

        return self.call_async(run(), timeout)  # type: ignore[no-any-return]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def url(self) -> str:
        return self.server.url

    def ground_truth(self, response_id: str) -> dict[str, Any]:
        return self.call(lambda: self.server.ground_truth(response_id))

    def journal(self, since: int = 0) -> list[JournalEntry]:
        return self.call(lambda: self.server.journal(since))


GC_GEN0_THRESHOLD = 50_000


async def serve_until_stopped(
    server: MockServer, announce: Callable[[str], object] = print, stop: asyncio.Event | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, as a process of its own (`bgr serve`) does; or until `stop` is set."""
    # A serving process owns its heap: the store holds many small long-lived objects, which the
    # default GC thresholds rescan over and over; what exists before serving is frozen out of it.
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 50, 100)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    announce(f"bgr mock serving {server.base_url} (admin: {server.url}/_bgr/health)")
    await stop.wait()
    await server.stop()
