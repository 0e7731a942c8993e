"""The caller: carries out a scenario's script against an adapter and records every call.

It is the only place that decides which token to continue from; it never looks inside one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from harness.adapters.base import AgentAdapter, AgentReply, Unsupported
from harness.history import SELF_POLL_MARK, Call, Update
from harness.scenarios import Scenario, Step

FOREIGN_TOKEN = "eyJyZXNwb25zZUlkIjoicmVzcF9mb3JlaWduMDAwMSIsInNlcXVlbmNlTnVtYmVyIjozfQ=="
"""A token another agent type makes (.NET's base64 JSON {"responseId", "sequenceNumber"})."""
DEFAULT_MAX_POLLS = 200
DEFAULT_POLL_INTERVAL_SECONDS = 0.5


@dataclass(slots=True)
class Caller:
    adapter: AgentAdapter
    time_scale: float
    calls: list[Call] = field(default_factory=list)
    instance: int = 0
    mark: Callable[[str], Awaitable[None]] | None = None
    """Notes a moment in the backend's journal (on its clock), so checks can time the agent from it."""
    skipped: str | None = None
    """Why the script stopped early because the agent cannot do a step."""
    _t0: float = field(default_factory=time.monotonic)
    _stream_tokens: list[str] = field(default_factory=list)

    def now(self) -> float:
        return self._scenario_time(time.monotonic())

    def _scenario_time(self, monotonic: float) -> float:
        return (monotonic - self._t0) / self.time_scale

    @property
    def token(self) -> str | None:
        return self.calls[-1].token_out if self.calls else None

    async def play(self, scenario: Scenario) -> None:
        for step in scenario.script:
            try:
                await self._step(step, scenario)
            except Unsupported as reason:
                self.skipped = f"{step.kind}: {reason}"
                return

    async def _step(self, step: Step, scenario: Scenario) -> None:
        params = step.params
        if step.kind == "start":
            stream = bool(params.get("stream", False))
            await self._call(
                "start", prompt=scenario.prompt, token=None, stream=stream, limit=params.get("max_updates")
            )
        elif step.kind == "poll":
            for _ in range(int(params.get("max_polls", DEFAULT_MAX_POLLS))):
                if self.token is None or self.calls[-1].error is not None:
                    break
                await asyncio.sleep(
                    float(params.get("interval_seconds", DEFAULT_POLL_INTERVAL_SECONDS)) * self.time_scale
                )
                await self._call("poll", prompt=None, token=self.token, stream=False)
        elif step.kind == "resume":
            token = self._resume_token(params.get("from", "last"))
            if token is not None:
                await self._call("resume", prompt=None, token=token, stream=True, limit=params.get("max_updates"))
        elif step.kind == "restart":
            await self.adapter.restart()
            self.instance += 1
        elif step.kind == "self-poll":
            poll = getattr(self.adapter, "poll_until_done", None)
            if poll is None:
                raise Unsupported(f"{self.adapter.name} has no poller of its own")
            token = self.token
            if token is None:
                return
            if self.mark is not None:
                await self.mark(SELF_POLL_MARK)
            started = self.now()
            reply = await poll(
                token,
                max_polls=int(params.get("max_polls", DEFAULT_MAX_POLLS)),
                deadline_seconds=params.get("deadline_seconds"),
            )
            self._record("self-poll", reply, sent_prompt=False, token=token, stream=False, started=started)
        elif step.kind == "foreign-token":
            await self._call("foreign-token", prompt=None, token=FOREIGN_TOKEN, stream=False)

    def _resume_token(self, which: str) -> str | None:
        """`last`: the last update's token, as the lesson says; `last-non-null`: the last token the
        agent gave at all; `first`: the first one it gave (a stale cursor)."""
        if which == "first":
            return self._stream_tokens[0] if self._stream_tokens else None
        if which == "last-non-null":
            return self._stream_tokens[-1] if self._stream_tokens else None
        return self.token

    async def _call(
        self, step: str, *, prompt: str | None, token: str | None, stream: bool, limit: int | None = None
    ) -> None:
        started = self.now()
        reply = await self.adapter.run(prompt, token, stream=stream, max_updates=limit)
        self._record(step, reply, sent_prompt=prompt is not None, token=token, stream=stream, started=started)

    def _record(
        self, step: str, reply: AgentReply, *, sent_prompt: bool, token: str | None, stream: bool, started: float
    ) -> None:
        ended = self.now()
        updates = tuple(
            Update(ended if u.received_at is None else self._scenario_time(u.received_at), u.text, u.token, u.kind)
            for u in reply.updates
        )
        if stream:
            self._stream_tokens += [u.token for u in reply.updates if u.token is not None]
        self.calls.append(
            Call(
                index=len(self.calls),
                step=step,
                stream=stream,
                sent_prompt=sent_prompt,
                token_in=token,
                started_at=started,
                ended_at=ended,
                agent_instance=self.instance,
                updates=updates,
                token_out=reply.token,
                status=reply.status,
                error=reply.error,
                cut=reply.cut,
            )
        )
