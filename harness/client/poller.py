"""A production poller for background responses: the lesson's Demo 1 and 3 with its best practices.

`Poller(agent).start(prompt)` makes the first call with background responses allowed; a null
token there is the immediate case and returns at once. Otherwise it waits, polls with the token
alone, and doubles the wait (`Backoff`: 1, 2, 4, 8, 16, 30, 30, ... s) until the token is null.
It honours a Retry-After longer than its next wait (a 429 does not step the backoff on), stops at
a bound (`max_polls`, a deadline) with `PollTimeout` carrying the token, and saves every token to
a `TokenStore` as it arrives, so a restarted process finishes the job with `resume_pending()`.
Exceptions from the agent (`AgentError`) propagate, leaving the operation pending in the store.

Every wait and deadline is in seconds of the `Clock` it is given (the system's by default); handed
the mock's scaled clock, a test compresses an hour of polling into a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from harness.client.agent import Agent, AgentReply, AgentUpdate
from harness.client.backoff import Backoff
from harness.client.clock import SYSTEM_CLOCK, Clock
from harness.client.token_store import TokenStore, new_operation

__all__ = ["PollOutcome", "PollProgress", "PollRecord", "PollTimeout", "Poller", "ending_of", "retry_after_of"]

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})
DEFAULT_MAX_ERRORS = 3
"""Failed calls in a row (a 429, a 5xx, a dropped connection) before the poller gives up for now."""


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One poll, for reports: how long the poller waited before it, and when it was sent."""

    waited: float
    """Scenario seconds slept before this poll (the backoff's delay, or a longer Retry-After)."""
    at: float
    """Scenario seconds from the start of `start`/`poll` to the moment the poll was sent."""
    status: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PollOutcome:
    text: str
    status: str
    """completed, failed, cancelled, incomplete (the backend's word); error (calls kept failing);
    timed_out (the bound was reached); lost (no token was ever saved)."""
    error: str | None
    polls: int
    waited_seconds: float
    token: str | None
    """None when the operation is done; otherwise the token to go on from."""
    schedule: tuple[PollRecord, ...] = ()
    operation_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def as_reply(self) -> AgentReply:
        """The outcome as one agent call's reply (what `poll_until_done` returns)."""
        update = AgentUpdate(self.text, self.token, self.status)
        return AgentReply((update,), self.token, self.status, self.error)


@dataclass(frozen=True, slots=True)
class PollProgress:
    """What the poller is doing, for progress displays: called before each wait and at the end."""

    operation_id: str | None
    polls: int
    status: str | None
    """The status of the latest reply (queued, in_progress, completed, ...)."""
    error: str | None
    next_wait: float | None
    """Scenario seconds until the next poll; None when polling is over."""
    elapsed: float


class PollTimeout(Exception):
    """The bound was reached with the operation still running. The token is saved: resume from it."""

    def __init__(
        self,
        message: str,
        *,
        token: str,
        polls: int,
        waited: float,
        operation_id: str | None = None,
        schedule: tuple[PollRecord, ...] = (),
    ) -> None:
        super().__init__(message)
        self.token = token
        self.polls = polls
        self.waited = waited
        self.operation_id = operation_id
        self.schedule = schedule

    @property
    def outcome(self) -> PollOutcome:
        return PollOutcome(
            "", "timed_out", str(self), self.polls, self.waited, self.token, self.schedule, self.operation_id
        )

    def as_reply(self) -> AgentReply:
        return AgentReply((), self.token, "timed_out", str(self))


class Poller:
    """Polls one agent's background operations to the end, with backoff, a bound and durable tokens."""

    def __init__(
        self,
        agent: Agent,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen, so one shared default is safe
        *,
        max_polls: int | None = None,
        deadline_seconds: float | None = None,
        store: TokenStore | None = None,
        clock: Clock = SYSTEM_CLOCK,
        name: str | None = None,
        max_errors: int = DEFAULT_MAX_ERRORS,
        on_progress: Callable[[PollProgress], None] | None = None,
    ) -> None:
        if max_polls is not None and (isinstance(max_polls, bool) or not isinstance(max_polls, int) or max_polls < 1):
            raise ValueError(f"max_polls must be a whole number of at least 1, or None; got {max_polls!r}")
        if deadline_seconds is not None and not (math.isfinite(deadline_seconds) and deadline_seconds > 0):
            raise ValueError(
                f"deadline_seconds must be a positive number of seconds, or None; got {deadline_seconds!r}"
            )
        if max_errors < 0:
            raise ValueError(f"max_errors must not be negative, got {max_errors!r}")
        self.agent = agent
        self.backoff = backoff
        self.max_polls = max_polls
        self.deadline_seconds = deadline_seconds
        self.store = store
        self.max_errors = max_errors
        self.name = name or getattr(agent, "name", type(agent).__name__)
        """The agent spec written to the store: `resume_pending` only takes this agent's tokens."""
        self.clock = clock
        self._on_progress = on_progress

    async def start(self, prompt: str) -> PollOutcome:
        """The first call (background allowed), then polls until the token is null."""
        started = self.clock.now()
        operation_id = None
        if self.store is not None:
            # Saved before the call, so a crash during it still leaves the prompt behind.
            operation = new_operation(self.name, "poll", prompt)
            self.store.save(operation)
            operation_id = operation.id
        reply = await self.agent.run(prompt, None, stream=False)
        if reply.token is None:
            # The immediate case: done (or failed) on the first call; no wait, no poll.
            outcome = _outcome(reply, polls=0, waited=0.0, schedule=(), operation_id=operation_id)
            self._finish(outcome)
            self._progress(outcome.operation_id, 0, outcome.status, outcome.error, None, started)
            return outcome
        if operation_id is not None and self.store is not None:
            self.store.save_token(operation_id, reply.token, attempts=1)
        return await self._poll(reply.token, operation_id, started, reply)

    async def poll(self, token: str, operation_id: str | None = None) -> PollOutcome:
        """Poll from a token (of this agent) until it is null. Waits first: the caller just had a reply."""
        started = self.clock.now()
        if self.store is not None:
            if operation_id is not None:
                operation = self.store.get(operation_id)
                if operation is None or operation.kind != "poll":
                    raise ValueError(f"no poll operation {operation_id!r} in the token store")
            else:
                operation = self.store.find_token(token, kind="poll")
            if operation is None:
                operation = new_operation(self.name, "poll", None, token)
                self.store.save(operation)
            operation_id = operation.id
        return await self._poll(token, operation_id, started, None)

    async def resume_pending(self) -> list[PollOutcome]:
        """Finish every unfinished `poll` operation of this agent in the store: what a restarted process calls.

        A timeout becomes an outcome with status `timed_out` here rather than an exception, so one
        slow operation does not stop the others.
        """
        if self.store is None:
            raise ValueError("resume_pending needs a token store")
        outcomes = []
        for operation in self.store.pending(kind="poll", agent=self.name):
            if operation.token is None:
                error = "the process stopped before the backend answered with a token; start it again"
                self.store.finish(operation.id, "lost", error=error)
                outcomes.append(PollOutcome("", "lost", error, 0, 0.0, None, (), operation.id))
                continue
            try:
                outcomes.append(await self.poll(operation.token, operation.id))
            except PollTimeout as timeout:
                outcomes.append(timeout.outcome)
        return outcomes

    async def _poll(
        self, token: str, operation_id: str | None, started: float, first: AgentReply | None
    ) -> PollOutcome:
        delays = self.backoff.delays()
        schedule: list[PollRecord] = []
        waited = 0.0
        errors = 0
        status = first.status if first else None
        error = first.error if first else None
        retry_after = retry_after_of(first)
        attempts = 0
        if self.store is not None and operation_id is not None:
            stored = self.store.get(operation_id)
            attempts = stored.attempts if stored is not None else 0
        delay = next(delays)
        while True:
            # A reply carrying a Retry-After (a 429) told us nothing about the operation, only to wait:
            # its wait is max(Retry-After, the pending delay) and the backoff does not step on.
            wait = delay if retry_after is None else max(retry_after, delay)
            stepped = retry_after is None
            elapsed = self._elapsed(started)
            bound = self._bound_reached(len(schedule), elapsed, wait)
            if bound is not None:
                self._progress(operation_id, len(schedule), status, error, None, started)
                raise self._timeout(bound, token, status, len(schedule), waited, operation_id, tuple(schedule))
            self._progress(operation_id, len(schedule), status, error, wait, started)
            await self.clock.sleep(wait)
            waited += wait
            sent_at = self._elapsed(started)
            reply = await self.agent.run(None, token, stream=False)
            attempts += 1
            if stepped:
                delay = next(delays)
            status, error, retry_after = reply.status, reply.error, retry_after_of(reply)
            schedule.append(PollRecord(wait, sent_at, status, error))
            if reply.token is None:
                outcome = _outcome(reply, len(schedule), waited, tuple(schedule), operation_id)
                self._finish(outcome)
                self._progress(operation_id, len(schedule), outcome.status, outcome.error, None, started)
                return outcome
            token = reply.token
            if self.store is not None and operation_id is not None:
                self.store.save_token(operation_id, token, attempts=attempts)
            errors = errors + 1 if reply.error is not None else 0
            if errors > self.max_errors:
                message = (
                    f"gave up after {errors} failed polls in a row, the last with: {reply.error}; "
                    f"{_token_kept(operation_id, 'PollOutcome')}"
                )
                outcome = PollOutcome("", "error", message, len(schedule), waited, token, tuple(schedule), operation_id)
                self._finish(outcome)
                self._progress(operation_id, len(schedule), "error", message, None, started)
                return outcome

    def _bound_reached(self, polls: int, elapsed: float, wait: float) -> str | None:
        if self.max_polls is not None and polls >= self.max_polls:
            return f"the limit of {self.max_polls} polls"
        if self.deadline_seconds is not None and elapsed + wait > self.deadline_seconds:
            # Stop now rather than sleep past the deadline for a poll that may not come back in time.
            return f"the deadline of {self.deadline_seconds:g} s: the next poll was due at {elapsed + wait:.4g} s"
        return None

    def _timeout(
        self,
        bound: str,
        token: str,
        status: str | None,
        polls: int,
        waited: float,
        operation_id: str | None,
        schedule: tuple[PollRecord, ...],
    ) -> PollTimeout:
        message = (
            f"timed out after {polls} polls and {waited:g} s of waiting ({bound}) with the operation still "
            f"{status or 'running'}; {_token_kept(operation_id, 'PollTimeout')}"
        )
        if self.store is not None and operation_id is not None:
            self.store.finish(operation_id, "timed_out", error=message)
        return PollTimeout(
            message, token=token, polls=polls, waited=waited, operation_id=operation_id, schedule=schedule
        )

    def _finish(self, outcome: PollOutcome) -> None:
        if self.store is not None and outcome.operation_id is not None:
            self.store.finish(outcome.operation_id, outcome.status, text=outcome.text, error=outcome.error)

    def _elapsed(self, started: float) -> float:
        return self.clock.now() - started

    def _progress(
        self,
        operation_id: str | None,
        polls: int,
        status: str | None,
        error: str | None,
        next_wait: float | None,
        started: float,
    ) -> None:
        if self._on_progress is not None:
            self._on_progress(PollProgress(operation_id, polls, status, error, next_wait, self._elapsed(started)))


def ending_of(reply: AgentReply) -> tuple[str, str | None]:
    """The final status of a reply whose token is null, and its error: terminal honesty, whatever the agent says."""
    if reply.status in TERMINAL:
        return reply.status, reply.error
    return ("failed" if reply.error else "completed"), reply.error


def _outcome(
    reply: AgentReply, polls: int, waited: float, schedule: tuple[PollRecord, ...], operation_id: str | None
) -> PollOutcome:
    status, error = ending_of(reply)
    text = "".join(update.text for update in reply.updates)
    return PollOutcome(text, status, error, polls, waited, None, schedule, operation_id)


def _token_kept(operation_id: str | None, holder: str) -> str:
    where = f"saved as operation {operation_id}" if operation_id else f"in {holder}.token"
    return f"its token is {where} to resume from"


def retry_after_of(reply: AgentReply | None) -> float | None:
    """A reply's Retry-After in seconds, if its agent reports one (an optional field of `AgentReply`)."""
    value = getattr(reply, "retry_after", None)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    return None
