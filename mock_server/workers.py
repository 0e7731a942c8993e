"""A fleet of mock processes on one port: the parent reserves it, each forked worker listens on it.

Each worker has a listening socket of its own on the port (SO_REUSEPORT), and the kernel spreads new
connections over them by their addresses. One socket shared by every worker gave one accept queue, but
the worker that woke first took a burst whole: a load client's pool of 16 keep-alive connections came
15 to one worker and 1 to the other, and two workers ran no faster than one. A worker killed with
SIGKILL takes down only the connections it had not accepted yet, which carried no request: nothing it
acknowledged is lost, and the others go on accepting. The workers share responses, rules, ids, the
clock and the journal through Redis (`mock_server/redis_fleet.py`); the parent holds no state, it only
starts the workers, says when they are all serving, and stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from mock_server.clock import Clock
from mock_server.config import ServerConfig
from mock_server.redis_address import SCHEME as REDIS_SCHEME
from mock_server.redis_address import StoreUnavailable
from mock_server.rules import Rule
from mock_server.server import MockServer, serve_until_stopped

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
BACKLOG = 1024


class FleetError(Exception):
    """The fleet could not start, or every worker ended."""


class _Stop(Exception):
    pass


def serve_workers(
    config: ServerConfig,
    host: str,
    port: int,
    workers: int,
    rules: list[Rule] | None = None,
    announce: Callable[[str], object] = print,
) -> None:
    """Serve with `workers` processes until SIGINT or SIGTERM; they share a Redis store (one may use any store)."""
    if workers > 1 and not config.store.startswith(REDIS_SCHEME):
        raise FleetError(
            f"--workers {workers} needs --store redis://HOST:PORT: workers share responses only through Redis"
        )
    if config.store.startswith(REDIS_SCHEME):
        try:
            from mock_server.redis_fleet import prepare_fleet  # only here: redis is an optional extra
        except ModuleNotFoundError:
            raise StoreUnavailable("--store redis:// needs the Redis client: pip install 'bgr[redis]'") from None

        prepare_fleet(config, rules or [])
        rules = None  # in Redis now, for every worker
    reserved = _reserve_port(host, port)
    address = reserved.getsockname()[:2]
    ready_read, ready_write = os.pipe()
    children: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_stop)
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:
                os.close(ready_read)
                reserved.close()
                run_worker(config, address, ready_write, rules)
            children.append(pid)
        os.close(ready_write)
        await_ready(ready_read, workers)
        url = f"http://{address[0]}:{address[1]}"
        pids = " ".join(map(str, children))
        counted = f"{workers} workers" if workers > 1 else "1 worker"
        announce(f"bgr mock serving {url}/v1 (admin: {url}/_bgr/health; {counted}, pids {pids})")
        _supervise(children)
    except _Stop:
        pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        reserved.close()
        os.close(ready_read)
        _stop(children)


def run_worker(
    config: ServerConfig,
    listener: socket.socket | tuple[str, int],
    ready: int,
    rules: list[Rule] | None = None,
    clock: Clock | None = None,
    parent: int | None = None,
) -> NoReturn:
    """Serve `listener` in this process, say `ready` (or `error ...`) on the pipe `ready`, and exit when stopped.

    `listener`: a listening socket, or the (host, port) of a fleet, on which the worker listens with a socket of
    its own.

    Stopped by SIGINT or SIGTERM; with `parent` (the read end of a pipe the parent holds open) also when that
    pipe closes, as it does when the parent dies. `clock`: the parent's clock, carried on here.
    """
    code = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        sock = listener if isinstance(listener, socket.socket) else _port_socket(*listener, listen=True)
        asyncio.run(_serve(MockServer(config, rules=rules, clock=clock, sock=sock), ready, parent))
    except BaseException as error:  # whatever it is, a worker must never return into the parent's code
        said = str(error) if isinstance(error, StoreUnavailable | OSError | ValueError) else repr(error)
        os.write(ready, b"error " + said.replace("\n", " ").encode()[:2000] + b"\n")
        code = 1
    finally:
        os._exit(code)


async def _serve(server: MockServer, ready: int, parent: int | None) -> None:
    if server.config.store.startswith(REDIS_SCHEME):
        from mock_server.redis_store import RedisResponseStore

        assert isinstance(server.state.store, RedisResponseStore)
        await server.state.store.start_following()
    stop = asyncio.Event()
    if parent is not None:
        asyncio.get_running_loop().add_reader(parent, lambda: os.read(parent, 4096) or stop.set())
    await serve_until_stopped(server, lambda _line: os.write(ready, b"ready\n"), stop)


def await_ready(ready: int, workers: int) -> None:
    """Every worker says `ready`, or the first error any says is the fleet's."""
    buffer, started = b"", 0
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"error "):
                raise FleetError(line.removeprefix(b"error ").decode(errors="replace"))
            started += line == b"ready"
        if started >= workers:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([ready], [], [], remaining)[0]:
            raise FleetError(f"the workers did not start within {START_TIMEOUT_SECONDS:g}s")
        chunk = os.read(ready, 4096)
        if not chunk:
            raise FleetError("a worker ended before serving")
        buffer += chunk


def _reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to the port (0 picks one) and never listening, for the workers' sockets to join.

    The port is first bound alone: anything listening there already, another fleet included, refuses it
    (address already in use), where joining it would let the kernel spread connections over both fleets.
    """
    with _socket_for(host) as alone:
        alone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        alone.bind((host, port))
        port = alone.getsockname()[1]
    return _port_socket(host, port)


def _socket_for(host: str) -> socket.socket:
    return socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)


def _port_socket(host: str, port: int, *, listen: bool = False) -> socket.socket:
    """A TCP socket on `host:port` that others of the fleet may bind too (SO_REUSEPORT), listening if asked."""
    sock = _socket_for(host)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _raise_stop(_signum: int, _frame: object) -> None:
    raise _Stop


def _supervise(children: list[int]) -> None:
    """Until SIGINT or SIGTERM (raised here as _Stop); a worker that ends is reported, the others keep serving."""
    while children:
        pid, status = os.waitpid(-1, 0)
        if pid in children:
            children.remove(pid)
            print(
                f"bgr worker {pid} ended ({_describe(status)}); {len(children)} still serving",
                file=sys.stderr,
                flush=True,
            )
    raise FleetError("every worker has ended")


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _stop(children: list[int]) -> None:
    """SIGTERM every worker still running, then SIGKILL what is left after the timeout."""
    for pid in children:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while children and time.monotonic() < deadline:
        for pid in list(children):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                children.remove(pid)
        time.sleep(0.02)
    for pid in children:
        _signal(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    children.clear()


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
