"""`cmd:<command>`: any program, in any language, as the agent under test.

The program speaks JSON lines on stdin/stdout (docs/cmd-protocol.md): the harness sends one
request line and reads reply lines until the request's final line. Everything the program
says is checked against the protocol, and every read has a deadline, so a program that dies,
hangs or prints something else becomes a clear `AgentError` (naming the command and the
last lines of its stderr) instead of a hang. Tokens stay opaque strings end to end.

Version 2 adds the harness's tool: `hello` offers version 2 and the tool's schema, a program
that answers `ready` with protocol 2 may send `tool_call` lines during a run, and the harness runs
the tool (counting it) and answers each with a `tool_output` line. A version 1 program is spoken
to in version 1 throughout, exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import deque
from collections.abc import Mapping
from typing import Any, NoReturn

from harness.conformance.adapters.base import (
    AgentEnvironment,
    AgentError,
    AgentReply,
    AgentUpdate,
    Unsupported,
    one_line,
)

MAX_WAIT_SECONDS = 30.0
"""The lesson's cap: the longest a poller of the program may wait between two polls, in scenario seconds."""
PROTOCOL_VERSION = 2
"""The newest version the harness speaks; it speaks every one of `PROTOCOL_VERSIONS`."""
PROTOCOL_VERSIONS = (1, 2)
FIRST_PROTOCOL = 1
"""Every program understands version 1: `hello` is written in it, and offers the newer ones."""
DEFAULT_TIMEOUT = 60.0
"""Seconds the program may take to write its next line."""
DEFAULT_STOP_TIMEOUT = 5.0
"""Seconds the program may take to exit once its stdin is closed, before it is killed."""
KILL_WAIT_SECONDS = 5.0
"""Seconds to wait, after a kill, for asyncio to see the program's end and the end of its pipes.

Only a bound: a SIGKILL is not refused, but a grandchild in a session of its own can hold stdout open.
"""
STDERR_WAIT_SECONDS = 1.0
"""Seconds to wait for the last of stderr once the program is gone (a grandchild may still hold it open)."""
DEFAULT_MAX_LINE_BYTES = 64 << 20
"""Tokens may carry a whole conversation (as .NET's do), so lines may be long."""
_REAPING: set[asyncio.Task[None]] = set()
"""Reapings of adapters dropped unclosed: the loop keeps only weak references to its tasks."""
_STDERR_LINES = 40
_SHOWN_STDERR_LINES = 8
_SHOWN_LINE_CHARS = 200


class CommandError(AgentError):
    """The program broke the protocol, died or went silent; the message says which, and what it last said."""

    def __init__(self, command: str, problem: str, stderr_tail: list[str], returncode: int | None) -> None:
        self.command = command
        self.problem = problem
        self.stderr_tail = stderr_tail
        self.returncode = returncode
        message = f"cmd:{command}: {problem}"
        if returncode is not None:
            message += f"; exit code {returncode}"
        shown = [line.strip() for line in stderr_tail if line.strip()][-_SHOWN_STDERR_LINES:]
        message += "; last stderr lines: " + " | ".join(shown) if shown else "; nothing on stderr"
        super().__init__(message)


class CommandAdapter:
    """Runs `command` through the shell (`/bin/sh -c` on POSIX), so pipes, `cd x &&` and variables work.

    One process per agent instance: `restart` replaces it, and tokens written by the old
    process must work in the new one (that is how `token-persistable` is checked).
    """

    def __init__(
        self,
        command: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        start_timeout: float | None = None,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if not command.strip():
            raise ValueError("the command is empty")
        self.command = command
        self.name = f"cmd:{command}"
        self.timeout = timeout
        self.start_timeout = timeout if start_timeout is None else start_timeout
        """Startup may be slower (a compiler, a JIT): `hello` gets its own deadline."""
        self.stop_timeout = stop_timeout
        self.cwd = cwd
        self.extra_env = dict(env or {})
        self.max_line_bytes = max_line_bytes
        self.program_name: str | None = None
        """The name the program gave in its `ready` line."""
        self.ready_message: dict[str, Any] = {}
        self.protocol = FIRST_PROTOCOL
        """The version the program answered `ready` with; the harness's lines carry it."""
        self._environment: AgentEnvironment | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_LINES)
        self._request_ids = 0
        self._broken: str | None = None
        # One request in flight at a time: replies are read in order from a single pipe.
        self._lock = asyncio.Lock()

    def __del__(self) -> None:
        # Never closed, a caller's bug: end the program at least, which would wait on its stdin for ever, and
        # reap it while a loop still runs (after that there is none left to close its transport on).
        process = getattr(self, "_process", None)  # absent when __init__ refused its arguments
        if process is None:
            return
        if process.returncode is None:
            _kill(process)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        reaping = loop.create_task(_reap(process))
        _REAPING.add(reaping)
        reaping.add_done_callback(_REAPING.discard)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._stderr_tail)

    # -- the AgentAdapter interface ------------------------------------------------------------

    async def start(self, environment: AgentEnvironment) -> None:
        async with self._lock:
            await self._stop()
            self._environment = environment
            try:
                await self._launch(environment)
                await self._hello(environment)
            except asyncio.CancelledError:
                await self._stop()
                raise

    async def run(
        self,
        prompt: str | None,
        token: str | None,
        *,
        stream: bool,
        max_updates: int | None = None,
    ) -> AgentReply:
        if max_updates is not None and max_updates < 0:
            raise ValueError("max_updates must not be negative")
        async with self._lock:
            self._require_running()
            return await self._run(prompt, token, stream=stream, max_updates=max_updates)

    async def restart(self) -> None:
        if self._environment is None:
            raise AgentError(f"{self.name}: restart() before start()")
        await self.start(self._environment)

    async def close(self) -> None:
        async with self._lock:
            await self._stop()

    # -- one call ----------------------------------------------------------------------------

    async def poll_until_done(self, token: str, *, max_polls: int, deadline_seconds: float | None) -> AgentReply:
        """The program polls on its own, with its own backoff and bound (protocol: `poll_until_done`)."""
        async with self._lock:
            self._require_running()
            assert self._environment is not None
            request_id = self._next_id()
            message = {
                "protocol": self.protocol,
                "type": "poll_until_done",
                "id": request_id,
                "token": token,
                "max_polls": max_polls,
                "deadline_seconds": deadline_seconds,
            }
            # No line comes while the program waits: allow its longest schedule (capped waits of 30 s).
            longest = self._environment.clock.real_seconds(deadline_seconds or MAX_WAIT_SECONDS * max_polls)
            return await self._exchange(message, stream=False, limit=None, timeout=self.timeout + longest)

    async def _run(self, prompt: str | None, token: str | None, *, stream: bool, max_updates: int | None) -> AgentReply:
        request_id = self._next_id()
        limit = max_updates if stream else None
        message = {
            "protocol": self.protocol,
            "type": "run",
            "id": request_id,
            "prompt": prompt,
            "token": token,
            "stream": stream,
            "max_updates": limit,
        }
        return await self._exchange(message, stream=stream, limit=limit, timeout=self.timeout)

    async def _exchange(
        self, request: dict[str, Any], *, stream: bool, limit: int | None, timeout: float
    ) -> AgentReply:
        try:
            return await self._converse(request, stream=stream, limit=limit, timeout=timeout)
        except asyncio.CancelledError:
            # Replies to this request would still be on their way: the next one cannot trust the pipe.
            self._broken = f"a {request['type']} was cancelled before its result line arrived"
            if self._process is not None:
                _kill(self._process)
            # Reaped before the cancellation goes on, so its transport is closed on this loop (`_stop`).
            await self._stop()
            raise

    async def _converse(
        self, request: dict[str, Any], *, stream: bool, limit: int | None, timeout: float
    ) -> AgentReply:
        request_id = request["id"]
        what = f"{request['type']} #{request_id}"
        await self._send(request)
        updates: list[AgentUpdate] = []
        while True:
            message = await self._receive(request_id, what, timeout)
            received_at = self._environment.clock.now() if self._environment else None
            kind = message["type"]
            if kind == "update":
                if not stream:
                    await self._fail(
                        f"sent an update line in answer to {what}, which is not streaming: {_show(message)}"
                    )
                if limit is not None and len(updates) >= limit:
                    await self._fail(
                        f"sent more than max_updates={limit} updates in answer to {what}: {_show(message)}"
                    )
                updates.append(
                    AgentUpdate(
                        text=await self._field(message, "text", str, what),
                        token=await self._token(message, what),
                        kind=await self._field(message, "kind", str, what, default=""),
                        received_at=received_at,
                    )
                )
            elif kind == "tool_call" and self.protocol >= 2:
                await self._run_tool(message, what)
            elif kind == "result":
                return await self._reply(message, updates, stream=stream, limit=limit, what=what, at=received_at)
            elif kind == "unsupported":
                reason = await self._field(message, "message", str, what, default="no reason given")
                raise Unsupported(f"{self.name}: {one_line(reason)}")
            else:
                await self._fail(f"sent a {kind!r} line in answer to {what}: {_show(message)}")

    async def _run_tool(self, message: dict[str, Any], what: str) -> None:
        """The program's agent runs the harness's tool: run it (the harness counts it) and send its output."""
        name = await self._field(message, "name", str, what)
        arguments = message.get("arguments", ...)
        if arguments is ... or not isinstance(arguments, str | dict):
            await self._fail(f"sent a tool_call without 'arguments' (a JSON string) for {what}: {_show(message)}")
        call_id = await self._field(message, "call_id", str, what, default=None, nullable=True)
        tool = self._environment.tool if self._environment is not None else None
        if tool is not None and name == tool.name:
            output = tool.execute(arguments, call_id=call_id)
        else:
            output = f"error: the harness has no tool named {name!r}"
        reply = {"protocol": self.protocol, "type": "tool_output", "id": message["id"], "call_id": call_id}
        await self._send({**reply, "output": output})

    async def _reply(
        self,
        message: dict[str, Any],
        updates: list[AgentUpdate],
        *,
        stream: bool,
        limit: int | None,
        what: str,
        at: float,
    ) -> AgentReply:
        token = await self._token(message, what)
        status = await self._field(message, "status", str, what, default=None, nullable=True)
        error = await self._field(message, "error", str, what, default=None, nullable=True)
        cut = await self._field(message, "cut", bool, what, default=False)
        if cut and (not stream or limit is None or len(updates) != limit):
            await self._fail(
                f"reported cut=true in answer to {what} after {len(updates)} updates with max_updates={limit}; "
                "a cut means it stopped reading after exactly max_updates updates of a stream"
            )
        if not stream:
            text = await self._field(message, "text", str, what, default="")
            # Like the other adapters, a plain call's update is labelled with the status unless told otherwise.
            kind = await self._field(message, "kind", str, what, default=status or "")
            updates = [AgentUpdate(text=text, token=token, kind=kind, received_at=at)]
        return AgentReply(
            updates=tuple(updates),
            token=token,
            status=status,
            error=one_line(error) if error is not None else None,
            cut=cut,
        )

    async def _hello(self, environment: AgentEnvironment) -> None:
        request_id = self._next_id()
        await self._send(
            {
                "protocol": FIRST_PROTOCOL,
                "type": "hello",
                "id": request_id,
                "environment": {
                    "base_url": environment.base_url,
                    "api_key": environment.api_key,
                    "model": environment.model,
                    "time_scale": environment.time_scale,
                },
                # Version 2: offered here, taken by a `ready` with protocol 2; a version 1 program ignores both.
                "protocols": list(PROTOCOL_VERSIONS),
                "tools": [environment.tool.spec] if environment.tool is not None else [],
            }
        )
        what = "hello"
        message = await self._receive(request_id, what, self.start_timeout)
        if message["type"] != "ready":
            await self._fail(f"answered hello with a {message['type']!r} line instead of ready: {_show(message)}")
        if message.get("protocol") not in PROTOCOL_VERSIONS or isinstance(message.get("protocol"), bool):
            await self._fail(
                f"speaks protocol {message.get('protocol')!r}, the harness speaks "
                f"{' or '.join(map(str, PROTOCOL_VERSIONS))}: {_show(message)}"
            )
        name = await self._field(message, "name", str, what)
        if not name.strip():
            await self._fail(f"gave an empty name in its ready line: {_show(message)}")
        self.program_name = name
        self.ready_message = message
        self.protocol = message["protocol"]

    # -- the process -------------------------------------------------------------------------

    async def _launch(self, environment: AgentEnvironment) -> None:
        env = {
            **os.environ,
            **self.extra_env,
            "OPENAI_BASE_URL": environment.base_url,
            "OPENAI_API_KEY": environment.api_key,
            "BGR_MODEL": environment.model,
            "BGR_TIME_SCALE": repr(float(environment.time_scale)),
            "BGR_PROTOCOL": str(PROTOCOL_VERSION),
        }
        self._stderr_tail.clear()
        self._broken = None
        self.program_name = None
        self.ready_message = {}
        self.protocol = FIRST_PROTOCOL
        try:
            self._process = await asyncio.create_subprocess_shell(
                self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                limit=self.max_line_bytes,
                # Its own process group, so a kill reaches what the shell started too.
                start_new_session=sys.platform != "win32",
            )
        except OSError as error:
            raise CommandError(self.command, f"could not be started: {error}", [], None) from error
        assert self._process.stderr is not None
        # Given the tail, not the adapter: a task holding the adapter would keep one never closed alive.
        self._stderr_task = asyncio.create_task(_collect_stderr(self._process.stderr, self._stderr_tail))

    async def _stop(self) -> None:
        """Close stdin (the program's signal to exit), wait, then kill its process group; reap it on this loop.

        asyncio counts a child's transport as closed only once the child's exit and the end of its stdout
        and stderr have all been seen on the loop that made it. One left open is closed by its `__del__`,
        wherever the collector finds it: with a warning, and once its loop is closed with an error that
        pytest reports in whatever test is running then. So every way out ends here, even a cancelled one.
        """
        process, self._process = self._process, None
        stderr_task, self._stderr_task = self._stderr_task, None
        if process is not None or stderr_task is not None:
            ending = asyncio.ensure_future(self._end(process, stderr_task))
            await _to_the_end(ending)

    async def _end(self, process: asyncio.subprocess.Process | None, stderr_task: asyncio.Task[None] | None) -> None:
        if process is not None:
            try:
                await asyncio.wait_for(_exit(process), self.stop_timeout)
            except TimeoutError:
                _kill(process)
                # Bounded: `wait()` also waits for the ends of the pipes, which a grandchild may hold.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), KILL_WAIT_SECONDS)
        if stderr_task is not None:
            # A grandchild may still hold stderr open; the tail so far is enough.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stderr_task), STDERR_WAIT_SECONDS)
        if process is not None:
            _close_transport(process)
        if stderr_task is not None:
            # Closing the transport ended stderr: let its reader see that, on this loop, before it is dropped.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stderr_task), STDERR_WAIT_SECONDS)
            stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stderr_task

    async def _fail(self, problem: str, grace: float = 0.2) -> NoReturn:
        """The conversation is out of step: end the process and report what happened."""
        process = self._process
        returncode = process.returncode if process is not None else None
        if process is not None and returncode is None:
            # Give a dying program a moment, so its exit code and last words make the message.
            with contextlib.suppress(TimeoutError):
                returncode = await asyncio.wait_for(asyncio.shield(process.wait()), grace)
            if returncode is None:
                _kill(process)
        await self._stop()
        self._broken = problem
        raise CommandError(self.command, problem, list(self._stderr_tail), returncode)

    def _require_running(self) -> None:
        if self._process is None or self._broken is not None:
            why = f" (it failed earlier: {self._broken})" if self._broken else ""
            raise CommandError(self.command, f"is not running; call start() or restart(){why}", [], None)

    def _next_id(self) -> int:
        self._request_ids += 1
        return self._request_ids

    # -- lines -------------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        process = self._process
        assert process is not None and process.stdin is not None
        # ASCII-only JSON: no reader ever has to guess the encoding of its stdin.
        line = json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n"
        try:
            process.stdin.write(line.encode("ascii"))
            await asyncio.wait_for(process.stdin.drain(), self.timeout)
        except TimeoutError:
            await self._fail(f"did not read its stdin within {self.timeout:g} s")
        except (BrokenPipeError, ConnectionResetError):
            await self._fail(f"exited before the harness could send {message['type']} #{message['id']}")

    async def _receive(self, request_id: int, what: str, timeout: float) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        while True:
            try:
                raw = await asyncio.wait_for(process.stdout.readline(), timeout)
            except TimeoutError:
                await self._fail(
                    f"wrote nothing for {timeout:g} s while the harness waited for its answer to {what} "
                    "(does it flush stdout after every line?)"
                )
            except ValueError:
                await self._fail(f"wrote a line longer than {self.max_line_bytes} bytes in answer to {what}")
            if not raw:
                await self._fail(f"closed its stdout while the harness waited for its answer to {what}", grace=2.0)
            try:
                text = raw.decode("utf-8").removeprefix("\ufeff").strip()
            except UnicodeDecodeError:
                await self._fail(f"wrote a line that is not UTF-8 in answer to {what}: {_clip(repr(raw))}")
            if not text:
                continue  # blank lines carry nothing; tolerated
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                await self._fail(
                    f"wrote a line that is not JSON in answer to {what}: {_clip(repr(text))} "
                    "(stdout is for protocol lines only; log to stderr)"
                )
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                await self._fail(f"wrote a JSON line that is not an object with a string 'type': {_show(message)}")
            if "protocol" in message and message["protocol"] not in PROTOCOL_VERSIONS:
                await self._fail(f"wrote a line for protocol {message['protocol']!r}: {_show(message)}")
            if message["type"] == "fatal":
                reason = message.get("message")
                await self._fail(f"gave up on {what}: {one_line(str(reason))}")
            if message.get("id") != request_id or isinstance(message.get("id"), bool):
                await self._fail(f"sent id {message.get('id')!r} in answer to {what}")
            return message

    async def _field(
        self,
        message: dict[str, Any],
        key: str,
        kind: type,
        what: str,
        *,
        default: Any = ...,
        nullable: bool = False,
    ) -> Any:
        if key not in message:
            if default is ...:
                await self._fail(f"left out {key!r} in its {message['type']} line for {what}: {_show(message)}")
            return default
        value = message[key]
        if value is None and nullable:
            return None
        # bool is an int in Python; keep the two apart so `"cut": 1` is caught.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            expected = kind.__name__ + (" or null" if nullable else "")
            await self._fail(f"sent {key}={value!r} in its {message['type']} line for {what}; expected {expected}")
        return value

    async def _token(self, message: dict[str, Any], what: str) -> str | None:
        value = message.get("token", ...)
        if value is ...:
            await self._fail(f"left out 'token' (a string, or null when done) in its {message['type']} line for {what}")
        if value is not None and not isinstance(value, str):
            await self._fail(
                f"sent a {type(value).__name__} token in its {message['type']} line for {what}; "
                "tokens are strings (serialize structured tokens yourself) or null"
            )
        return value  # type: ignore[no-any-return]


async def _collect_stderr(stderr: asyncio.StreamReader, tail: deque[str]) -> None:
    # Always drained, so a chatty program never blocks on a full pipe; only the tail is kept.
    partial = b""
    while chunk := await stderr.read(65536):
        *lines, partial = (partial + chunk).split(b"\n")
        for line in lines:
            tail.append(_clip(line.decode("utf-8", "replace").rstrip("\r")))
        partial = partial[-4 * _SHOWN_LINE_CHARS :]
    if partial:
        tail.append(_clip(partial.decode("utf-8", "replace")))


async def _exit(process: asyncio.subprocess.Process) -> int:
    """Close the program's stdin, its signal to exit, and wait for its end and the end of its pipes."""
    if process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()
        with contextlib.suppress(OSError):
            await process.stdin.wait_closed()
    return await process.wait()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for a killed child's end, then close its transport, even if the wait is cut short by the loop closing."""
    try:
        await asyncio.wait_for(process.wait(), KILL_WAIT_SECONDS)
    finally:
        _close_transport(process)


def _close_transport(process: asyncio.subprocess.Process) -> None:
    """Close the child's transport now, which asyncio does itself only once its exit and both pipe ends are seen.

    After a wait that timed out (a grandchild holding stdout, a child that will not die) that may never
    come before the loop closes. `Process` has no close of its own, hence the private attribute; closing a
    closed transport does nothing, and one whose child still runs kills it first.
    """
    transport = getattr(process, "_transport", None)
    if transport is not None and not transport.is_closing():
        transport.close()


async def _to_the_end(task: asyncio.Future[None]) -> None:
    """Await `task` to its end even if the caller is cancelled meanwhile, then pass the cancellation on.

    Every wait in `task` is bounded, so this delays a cancellation by seconds at most, and a child is
    never left half-reaped by a timeout that fired at the wrong moment.
    """
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        task.exception()  # seen, so not logged as lost: the cancellation is what the caller gets
        raise asyncio.CancelledError
    task.result()


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if sys.platform != "win32":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_LINE_CHARS else text[:_SHOWN_LINE_CHARS] + "..."


def _show(message: Any) -> str:
    return _clip(json.dumps(message, ensure_ascii=False))
