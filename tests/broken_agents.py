"""Deliberately broken agents: the reference agent with one defect each. The harness must catch every one."""

from __future__ import annotations

from dataclasses import replace

import orjson

from harness.client.backoff import Backoff
from harness.client.poller import Poller, PollTimeout
from harness.conformance.adapters.base import AgentReply, AgentUpdate
from harness.conformance.adapters.openai_agent import OpenAIAgent, _reply


class NullTooEarly(OpenAIAgent):
    """Says it is done (null token) on the first poll, whatever the backend says."""

    name = "broken:null-too-early"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        if token is not None and not stream:
            return AgentReply(tuple(AgentUpdate(u.text, None, u.kind) for u in reply.updates), None, reply.status)
        return reply


class _ShiftedCursor(OpenAIAgent):
    shift = 0

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if token is not None and stream:
            state = orjson.loads(token)
            if "sequence_number" in state:
                state["sequence_number"] = max(-1, state["sequence_number"] + self.shift)
                token = orjson.dumps(state).decode()
        return await super().run(prompt, token, stream=stream, max_updates=max_updates)


class RepeatingResume(_ShiftedCursor):
    """Resumes three events too early: content comes twice."""

    name = "broken:repeating-resume"
    shift = -3


class SkippingResume(_ShiftedCursor):
    """Resumes two events too late: content is lost."""

    name = "broken:skipping-resume"
    shift = 2


class ResendsPrompt(OpenAIAgent):
    """Polls by sending the prompt again (a new response), as a naive retry loop would."""

    name = "broken:resends-prompt"

    async def start(self, environment) -> None:
        await super().start(environment)
        self._prompt: str | None = None

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if prompt is not None:
            self._prompt = prompt
        elif not stream and self._prompt is not None:
            await self.client.responses.create(model=self.model, input=self._prompt, background=True)
        return await super().run(prompt, token, stream=stream, max_updates=max_updates)


class FailureAsEmptySuccess(OpenAIAgent):
    """Reports a failed, incomplete or cancelled run as a successful empty answer."""

    name = "broken:failure-as-success"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        if reply.error is not None and reply.token is None:
            return AgentReply(tuple(AgentUpdate("", None, u.kind) for u in reply.updates), None, "completed")
        return reply


class OffByOneCursor(_ShiftedCursor):
    """Resumes one event too early (`starting_after = sequence_number - 1`): the last event received comes
    again. Only visible when that event carries text, as it mostly does when the cut falls among the deltas."""

    name = "broken:off-by-one-cursor"
    shift = -1


class DropsLastDelta(OpenAIAgent):
    """Loses the text delta that comes just before `response.output_text.done` (or the terminal event) when
    both arrive in one call, as a one-delta look-ahead buffer that is never flushed would."""

    name = "broken:drops-last-delta"
    closing = frozenset({"response.output_text.done", "response.completed", "response.failed", "response.incomplete"})

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        updates = list(reply.updates)
        for index in range(1, len(updates)):
            if updates[index].kind in self.closing and updates[index - 1].kind == "response.output_text.delta":
                del updates[index - 1]
                return replace(reply, updates=tuple(updates))
        return reply


class ResumesFromFirstToken(OpenAIAgent):
    """Keeps the first token it handed out for each response and resumes from it, whatever token it is
    given: everything after the first event comes again. A restart forgets it (it lives in the adapter)."""

    name = "broken:resumes-from-first-token"

    async def start(self, environment) -> None:
        await super().start(environment)
        self._first_tokens: dict[str, str] = {}

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if token is not None and stream:
            token = self._first_tokens.get(_response_id(token) or "", token)
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        for update in reply.updates:
            response_id = _response_id(update.token) if update.token is not None else None
            if response_id is not None and update.token is not None:
                self._first_tokens.setdefault(response_id, update.token)
        return reply


class RerunsToolOnResume(OpenAIAgent):
    """Runs the conversation's tools again whenever it resumes a stream, to rebuild its state, as
    agent-framework's resumed stream re-ran tools with side effects (its issue 8357)."""

    name = "broken:reruns-tool-on-resume"

    async def start(self, environment) -> None:
        await super().start(environment)
        self._calls_seen: list[tuple[str, str]] = []

    async def _submit_outputs(self, response, *, stream):
        self._calls_seen += [(i.arguments, i.call_id) for i in response.output if i.type == "function_call"]
        return await super()._submit_outputs(response, stream=stream)

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if token is not None and stream and self._environment is not None and self._environment.tool is not None:
            for arguments, call_id in self._calls_seen:
                self._environment.tool.execute(arguments, call_id=call_id)
        return await super().run(prompt, token, stream=stream, max_updates=max_updates)


class PollsInsteadOfSubmitting(OpenAIAgent):
    """Keeps polling the response that called the tool instead of submitting its output: the continuation
    token stands in for the tool's result, as in agent-framework's issue 5394 (one POST, then only GETs)."""

    name = "broken:polls-instead-of-submitting"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        if token is not None and not stream and (response_id := _response_id(token)) is not None:
            response = await self.client.responses.retrieve(response_id)
            if response.status == "completed" and any(item.type == "function_call" for item in response.output):
                return AgentReply((AgentUpdate("", token, response.status),), token, response.status)
            return _reply(response, self._now())
        return await super().run(prompt, token, stream=stream, max_updates=max_updates)


class SubmitsOutputTwice(OpenAIAgent):
    """Runs the tool once but creates the follow-up twice (a retry with no idempotency key)."""

    name = "broken:submits-output-twice"

    async def _submit_outputs(self, response, *, stream):
        first = await super()._submit_outputs(response, stream=stream)
        if stream:
            return first
        original = await self.client.responses.retrieve(first.id)
        # The same outputs again, without running the tool again: a second follow-up of the same turn.
        return await self.client.responses.create(
            model=self.model,
            input=[
                {"type": "function_call_output", "call_id": call_id, "output": output}
                for call_id, output in _outputs_of(self._environment.tool, response)
            ],
            previous_response_id=response.id,
            background=True,
            tools=original.tools,
        )


def _outputs_of(tool, response) -> list[tuple[str, str]]:
    """The outputs the tool already gave for the response's calls (from its record, not a new run)."""
    given = {execution.call_id: execution.output for execution in tool.executions}
    return [(item.call_id, given[item.call_id]) for item in response.output if item.type == "function_call"]


def _response_id(token: str) -> str | None:
    try:
        state = orjson.loads(token)
    except orjson.JSONDecodeError:
        return None
    return state.get("response_id") if isinstance(state, dict) else None


class _DecoratedToken(OpenAIAgent):
    """Hands over the reference agent's tokens with `suffix` added, and takes them back without it (its own
    poller goes through `run`, so it sees the same tokens)."""

    suffix = ""

    def _out(self, token: str | None) -> str | None:
        return None if token is None else token + self.suffix

    def _in(self, token: str | None) -> str | None:
        return token.removesuffix(self.suffix) if token is not None else None

    def _decorated(self, reply: AgentReply) -> AgentReply:
        updates = tuple(replace(update, token=self._out(update.token)) for update in reply.updates)
        return replace(reply, updates=updates, token=self._out(reply.token))

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, self._in(token), stream=stream, max_updates=max_updates)
        return self._decorated(reply)


class SurrogateToken(_DecoratedToken):
    """Its tokens end in a lone surrogate: fine in its own memory, impossible to write to a file as UTF-8."""

    name = "broken:surrogate-token"
    suffix = "\udc80"


class NulToken(_DecoratedToken):
    """Its tokens hold NUL bytes, which C strings, argv and environment variables cannot carry."""

    name = "broken:nul-token"
    suffix = "\x00\x00"


class MegabyteToken(_DecoratedToken):
    """Its tokens carry a megabyte of padding, as a token that holds a whole conversation might."""

    name = "broken:megabyte-token"
    suffix = "#" * (1 << 20)


class QueuedMeansDone(OpenAIAgent):
    """Takes a `queued` poll for the end (null token), as code that only waits for in_progress would."""

    name = "broken:queued-means-done"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        if not stream and reply.status == "queued":
            return AgentReply(tuple(replace(u, token=None) for u in reply.updates), None, "completed")
        return reply


class MangledText(OpenAIAgent):
    """Decodes text as ASCII, replacing what it cannot read, as a reader decoding each chunk on its own might."""

    name = "broken:mangled-text"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        mangled = tuple(replace(u, text=u.text.encode().decode("ascii", "replace")) for u in reply.updates)
        return replace(reply, updates=mangled)


class NoSequenceCheck(OpenAIAgent):
    """Delivers every event as it comes: a repeated one twice, and a gap passed over in silence."""

    name = "broken:no-sequence-check"
    checks_sequence = False


class NullOnError(OpenAIAgent):
    """Hands back a null token when a call fails (a dropped stream, an HTTP error), losing the operation."""

    name = "broken:null-on-error"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        return replace(reply, token=None) if reply.error is not None else reply


class TokenOnTerminalUpdate(OpenAIAgent):
    """Ends the call with a null token, but the update that ends the response still carries the last token."""

    name = "broken:token-on-terminal-update"

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        updates = list(reply.updates)
        if stream and reply.token is None and len(updates) >= 2 and updates[-1].token is None:
            updates[-1] = replace(updates[-1], token=updates[-2].token)
        return replace(reply, updates=tuple(updates))


class _OwnPoller(OpenAIAgent):
    """The reference agent's own poller with one thing changed: its backoff, its bound or its reply."""

    backoff = Backoff()
    honours_deadline = True
    keeps_retry_after = True

    async def poll_until_done(self, token, *, max_polls, deadline_seconds) -> AgentReply:
        assert self._environment is not None
        deadline = deadline_seconds if self.honours_deadline else None
        poller = Poller(
            self, self.backoff, max_polls=max_polls, deadline_seconds=deadline, clock=self._environment.clock
        )
        try:
            return (await poller.poll(token)).as_reply()
        except PollTimeout as timeout:
            return self.timed_out(timeout)

    def timed_out(self, timeout: PollTimeout) -> AgentReply:
        return timeout.as_reply()

    async def run(self, prompt, token, *, stream, max_updates=None) -> AgentReply:
        reply = await super().run(prompt, token, stream=stream, max_updates=max_updates)
        return reply if self.keeps_retry_after else replace(reply, retry_after=None)


class FixedIntervalPoller(_OwnPoller):
    """Polls every 2 s, the lesson's Demo 1, instead of backing off."""

    name = "broken:fixed-interval-poller"
    backoff = Backoff(first_seconds=2.0, factor=1.0)


class UncappedPoller(_OwnPoller):
    """Doubles without the 30 s cap."""

    name = "broken:uncapped-poller"
    backoff = Backoff(cap_seconds=1000.0)


class IgnoresRetryAfter(_OwnPoller):
    """Backs off, but polls again after its own next wait whatever a 429's Retry-After asked."""

    name = "broken:ignores-retry-after"
    keeps_retry_after = False


class IgnoresDeadline(_OwnPoller):
    """Honours its poll count but not its deadline."""

    name = "broken:ignores-deadline"
    honours_deadline = False


class NullOnTimeout(_OwnPoller):
    """Stops at its bound with a timeout error, but hands back a null token: the operation cannot be resumed."""

    name = "broken:null-on-timeout"

    def timed_out(self, timeout: PollTimeout) -> AgentReply:
        return replace(timeout.as_reply(), token=None)
