"""The caller: carries out a scenario's script against an adapter and records every call.

It is the only place that decides which token to continue from; it never looks inside one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harness.conformance.adapters.base import AgentAdapter, AgentReply, Unsupported
from harness.conformance.history import SELF_POLL_MARK, Call, Stopped, Update
from harness.conformance.scenarios import DEFAULT_PROMPT, ConformanceScenario, Step, script_of
from harness.conformance.tool import HarnessTool
from mock_server import Clock

FOREIGN_TOKEN = "eyJyZXNwb25zZUlkIjoicmVzcF9mb3JlaWduMDAwMSIsInNlcXVlbmNlTnVtYmVyIjozfQ=="
"""A token another agent type makes (.NET's base64 JSON {"responseId", "sequenceNumber"})."""
DEFAULT_MAX_POLLS = 200
DEFAULT_POLL_INTERVAL_SECONDS = 0.5


@dataclass(slots=True)
class Caller:
    adapter: AgentAdapter
    clock: Clock
    """The run's one clock: the caller's times and waits are in its scenario seconds."""
    calls: list[Call] = field(default_factory=list)
    instance: int = 0
    mark: Callable[[str], Awaitable[None]] | None = None
    """Notes a moment in the backend's journal (on its clock), so checks can time the agent from it."""
    stopped: Stopped | None = None
    """The step the agent could not do, where the script stopped early."""
    tool: HarnessTool | None = None
    """The tool the agent was given: told which instance and call is running, so each execution says so."""
    _t0: float = 0.0
    _stream_tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._t0 = self.clock.now()

    def now(self) -> float:
        """Scenario seconds since this caller was made."""
        return self.clock.now() - self._t0

    @property
    def token(self) -> str | None:
        return self.calls[-1].token_out if self.calls else None

    async def play(self, scenario: ConformanceScenario) -> None:
        """Play the script with `prompt` (the scenario's, marked by the runner) as the user's message."""
        prompt = scenario.prompt or DEFAULT_PROMPT
        for index, step in enumerate(script_of(scenario).steps):
            try:
                await self._step(step, prompt)
            except Unsupported as reason:
                self.stopped = Stopped(index, step.kind, str(reason))
                return

    async def _step(self, step: Step, prompt: str) -> None:
        params = step.params
        if step.kind == "start":
            stream = bool(params.get("stream", False))
            await self._call("start", prompt=prompt, token=None, stream=stream, limit=params.get("max_updates"))
        elif step.kind == "poll":
            for _ in range(int(params.get("max_polls", DEFAULT_MAX_POLLS))):
                if self.token is None or self.calls[-1].error is not None:
                    break
                await self.clock.sleep(float(params.get("interval_seconds", DEFAULT_POLL_INTERVAL_SECONDS)))
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
            self._tell_tool()
            asked = {"max_polls": int(params.get("max_polls", DEFAULT_MAX_POLLS))}
            asked["deadline_seconds"] = params.get("deadline_seconds")
            reply = await poll(token, **asked)
            self._record("self-poll", reply, sent_prompt=False, token=token, stream=False, started=started, asked=asked)
        elif step.kind == "foreign-token":
            await self._call("foreign-token", prompt=None, token=FOREIGN_TOKEN, stream=False)

    def _tell_tool(self) -> None:
        """The tool runs inside the agent's own calls: each execution is attributed to the call being made."""
        if self.tool is not None:
            self.tool.instance, self.tool.call = self.instance, len(self.calls)

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
        self._tell_tool()
        reply = await self.adapter.run(prompt, token, stream=stream, max_updates=limit)
        asked = {"max_updates": limit} if stream and limit is not None else {}
        self._record(
            step, reply, sent_prompt=prompt is not None, token=token, stream=stream, started=started, asked=asked
        )

    def _record(
        self,
        step: str,
        reply: AgentReply,
        *,
        sent_prompt: bool,
        token: str | None,
        stream: bool,
        started: float,
        asked: dict[str, Any] | None = None,
    ) -> None:
        ended = self.now()
        updates = tuple(
            Update(ended if u.received_at is None else u.received_at - self._t0, u.text, u.token, u.kind)
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
                asked=asked or {},
            )
        )
