"""Deliberately broken agents: the reference agent with one defect each. The harness must catch every one."""

from __future__ import annotations

from dataclasses import replace

import orjson

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
