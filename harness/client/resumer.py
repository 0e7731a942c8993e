"""Stream resumption that survives drops and restarts: the lesson's Demo 2 made durable.

`StreamResumer(agent, max_attempts=5).stream(prompt, on_text)` reads a streaming run. When the
stream ends early with a token (a dropped connection), it waits (`Backoff`, as between polls) and
resumes from the last token, until a null token ends it or `max_attempts` calls have been made.

Each piece of text goes to `on_text` once. With a store, the order per update is: hand the text
to `on_text`, append it to the operation's delivered text, then save the update's token together
with how much delivered text that token covers. A process killed between the last two steps
resumes from the older token; the text that comes again is recognised (it is already in the
delivered text, past the token's mark) and is not handed out twice. Only a kill between `on_text`
and the store's append, an instant apart, can repeat text: no store can share a transaction with
the caller's output.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harness.client.agent import Agent, AgentReply
from harness.client.backoff import Backoff
from harness.client.clock import SYSTEM_CLOCK, Clock
from harness.client.poller import ending_of, retry_after_of
from harness.client.token_store import TokenStore, new_operation

__all__ = ["Reconnect", "StreamGaveUp", "StreamOutcome", "StreamResumer"]

OnText = Callable[[str], object | Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Reconnect:
    """One resumption after a drop, for progress lines and reports."""

    attempt: int
    """The call this reconnect makes (2: the first resumption)."""
    waited: float
    """Scenario seconds slept before it."""
    at: float
    """Scenario seconds from the start of `stream`/`resume` to the resuming call."""
    reason: str
    delivered_chars: int
    """Characters delivered so far (all processes)."""


@dataclass(frozen=True, slots=True)
class StreamOutcome:
    text: str
    """All the text delivered for this operation, by this process and any before it."""
    status: str
    """completed, failed, cancelled, incomplete (the backend's word); gave_up (after `max_attempts`: resumable);
    error (the resumed text differed from what was delivered); lost (no token was ever saved)."""
    error: str | None
    attempts: int
    """Calls made by this `stream`/`resume` (1: no reconnect was needed)."""
    token: str | None
    """None when the stream is done; otherwise the token to resume from."""
    reconnects: tuple[Reconnect, ...] = ()
    operation_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"


class StreamGaveUp(Exception):
    """`max_attempts` calls and the stream still dropped. The token is saved: resume from it later."""

    def __init__(
        self,
        message: str,
        *,
        token: str,
        attempts: int,
        text: str,
        operation_id: str | None = None,
        reconnects: tuple[Reconnect, ...] = (),
    ) -> None:
        super().__init__(message)
        self.token = token
        self.attempts = attempts
        self.text = text
        self.operation_id = operation_id
        self.reconnects = reconnects

    @property
    def outcome(self) -> StreamOutcome:
        return StreamOutcome(
            self.text, "gave_up", str(self), self.attempts, self.token, self.reconnects, self.operation_id
        )


@dataclass(slots=True)
class _Cursor:
    """Where a stream stands, in characters of delivered text."""

    operation_id: str | None
    token: str | None
    delivered: str
    token_at: int
    """Characters of `delivered` the current token covers: a resumed stream's text starts there."""
    position: int = 0
    """How far the stream being read has reached (at most len(delivered) means: a repeat)."""
    calls_before: int = 0


class StreamResumer:
    """Reads one agent's streams to the end, resuming after drops, delivering each piece of text once."""

    def __init__(
        self,
        agent: Agent,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen, so one shared default is safe
        *,
        max_attempts: int,
        store: TokenStore | None = None,
        clock: Clock = SYSTEM_CLOCK,
        name: str | None = None,
        updates_per_call: int | None = None,
        on_reconnect: Callable[[Reconnect], None] | None = None,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be a whole number of at least 1, got {max_attempts!r}")
        if updates_per_call is not None and updates_per_call < 1:
            raise ValueError(f"updates_per_call must be at least 1, or None; got {updates_per_call!r}")
        self.agent = agent
        self.backoff = backoff
        self.max_attempts = max_attempts
        """Calls per `stream`/`resume`: the first and every resumption after a drop."""
        self.store = store
        self.name = name or getattr(agent, "name", type(agent).__name__)
        self.updates_per_call = updates_per_call
        """Read at most this many updates per call, then go on from the token at once (not a drop):
        text reaches `on_text` in smaller pieces, since an agent answers a call as a whole."""
        self.clock = clock
        self._on_reconnect = on_reconnect

    async def stream(self, prompt: str, on_text: OnText) -> StreamOutcome:
        """Start a streaming run and read it to the end."""
        operation_id = None
        if self.store is not None:
            operation = new_operation(self.name, "stream", prompt)
            self.store.save(operation)
            operation_id = operation.id
        return await self._read(_Cursor(operation_id, None, "", 0), prompt, on_text)

    async def resume(self, ref: str, on_text: OnText) -> StreamOutcome:
        """Go on with a stream: `ref` is an operation id in the store, or else a token of this agent."""
        operation = None
        if self.store is not None:
            operation = self.store.get(ref)
            if operation is not None and operation.kind != "stream":
                raise ValueError(f"operation {ref!r} is a {operation.kind} operation, not a stream")
            operation = operation or self.store.find_token(ref, kind="stream")
        if operation is None:
            cursor = _Cursor(None, ref, "", 0)
            if self.store is not None:
                # A token from elsewhere: what came before it was delivered by someone else.
                operation = new_operation(self.name, "stream", None, ref)
                self.store.save(operation)
                cursor.operation_id = operation.id
            return await self._read(cursor, None, on_text)
        if operation.token is None:
            if operation.finished:
                return StreamOutcome(operation.delivered, operation.status, operation.error, 0, None, (), operation.id)
            error = "the process stopped before the backend answered with a token; start it again"
            self._finish(operation.id, "lost", error)
            return StreamOutcome(operation.delivered, "lost", error, 0, None, (), operation.id)
        cursor = _Cursor(operation.id, operation.token, operation.delivered, operation.token_at)
        cursor.calls_before = operation.attempts
        return await self._read(cursor, None, on_text)

    async def resume_pending(self, on_text: OnText) -> list[StreamOutcome]:
        """Finish every unfinished `stream` operation of this agent in the store, one after the other."""
        if self.store is None:
            raise ValueError("resume_pending needs a token store")
        outcomes = []
        for operation in self.store.pending(kind="stream", agent=self.name):
            try:
                outcomes.append(await self.resume(operation.id, on_text))
            except StreamGaveUp as gave_up:
                outcomes.append(gave_up.outcome)
        return outcomes

    async def _read(self, cursor: _Cursor, prompt: str | None, on_text: OnText) -> StreamOutcome:
        started = self.clock.now()
        delays = self.backoff.delays()
        delay = next(delays)
        reconnects: list[Reconnect] = []
        attempts = calls = 0
        while True:
            attempts += 1
            cursor.position = cursor.token_at
            # The prompt goes with the very first call only; every later call carries the token alone.
            reply = await self.agent.run(
                prompt if cursor.token is None else None,
                cursor.token,
                stream=True,
                max_updates=self.updates_per_call,
            )
            calls += 1
            prompt = None
            mismatch = await self._take(cursor, reply, on_text, cursor.calls_before + calls)
            if mismatch is not None:
                self._finish(cursor.operation_id, "error", mismatch)
                return StreamOutcome(
                    cursor.delivered, "error", mismatch, attempts, cursor.token, (*reconnects,), cursor.operation_id
                )
            if reply.token is None:
                # A null token ends it, whatever came with it (the contract's null-means-done).
                status, error = ending_of(reply)
                self._finish(cursor.operation_id, status, error)
                return StreamOutcome(
                    cursor.delivered, status, error, attempts, None, (*reconnects,), cursor.operation_id
                )
            if reply.cut and reply.error is None and reply.updates:
                attempts -= 1  # we stopped reading on purpose: not a drop, no wait
                continue
            reason = reply.error or "the stream ended before the response did"
            if attempts >= self.max_attempts:
                raise self._give_up(cursor, attempts, reason, tuple(reconnects))
            # As between polls: a Retry-After sets this wait, and the backoff steps on only without one.
            retry_after = retry_after_of(reply)
            if retry_after is None:
                wait = delay
                delay = next(delays)
            else:
                wait = max(retry_after, delay)
            reconnect = Reconnect(attempts + 1, wait, self._elapsed(started) + wait, reason, len(cursor.delivered))
            reconnects.append(reconnect)
            if self._on_reconnect is not None:
                self._on_reconnect(reconnect)
            await self.clock.sleep(wait)

    async def _take(self, cursor: _Cursor, reply: AgentReply, on_text: OnText, calls: int) -> str | None:
        """Deliver the new text of a reply, update by update, saving each token after its text."""
        for update in reply.updates:
            text = update.text
            if text:
                # Text at positions already delivered comes again after a resume from an older token.
                repeat = max(0, min(len(text), len(cursor.delivered) - cursor.position))
                if text[:repeat] != cursor.delivered[cursor.position : cursor.position + repeat]:
                    return (
                        f"the resumed stream differs from the text already delivered at character {cursor.position}: "
                        "resuming is not exact, so nothing more is delivered"
                    )
                fresh = text[repeat:]
                cursor.position += len(text)
                if fresh:
                    result = on_text(fresh)
                    if inspect.isawaitable(result):
                        await result
                    cursor.delivered += fresh
                    if self.store is not None and cursor.operation_id is not None:
                        self.store.deliver(cursor.operation_id, fresh)
            if update.token is not None and update.token != cursor.token:
                self._save_token(cursor, update.token, calls)
        if reply.token is not None and reply.token != cursor.token:
            self._save_token(cursor, reply.token, calls)
        elif self.store is not None and cursor.operation_id is not None and cursor.token is not None:
            self.store.save_token(cursor.operation_id, cursor.token, attempts=calls)
        return None

    def _save_token(self, cursor: _Cursor, token: str, calls: int) -> None:
        cursor.token = token
        cursor.token_at = cursor.position
        if self.store is not None and cursor.operation_id is not None:
            self.store.save_token(cursor.operation_id, token, attempts=calls, token_at=cursor.position)

    def _give_up(self, cursor: _Cursor, attempts: int, reason: str, reconnects: tuple[Reconnect, ...]) -> StreamGaveUp:
        assert cursor.token is not None
        where = f"saved as operation {cursor.operation_id}" if cursor.operation_id else "in StreamGaveUp.token"
        message = (
            f"gave up after {attempts} attempts, the last ending with: {reason}; "
            f"{len(cursor.delivered)} characters delivered; its token is {where} to resume from"
        )
        self._finish(cursor.operation_id, "error", message)
        return StreamGaveUp(
            message,
            token=cursor.token,
            attempts=attempts,
            text=cursor.delivered,
            operation_id=cursor.operation_id,
            reconnects=reconnects,
        )

    def _finish(self, operation_id: str | None, status: str, error: str | None) -> None:
        if self.store is not None and operation_id is not None:
            self.store.finish(operation_id, status, error=error)

    def _elapsed(self, started: float) -> float:
        return self.clock.now() - started
